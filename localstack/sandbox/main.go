// Command sandbox runs contactsync on this machine: the real handlers behind
// one HTTP server (the routes of design.md §6), SQS pollers in place of the
// Lambda event source mappings, the daily schedule (POST /_sandbox/schedule
// fires it now), and the platform fakes. It expects the embedded stack (or
// LocalStack) named by AWS_ENDPOINT_URL*; `make sandbox` and `make run` start
// it after `make stack-up`.
//
//	sandbox          serve with no demo data; prints "ready <base url>"
//	sandbox -demo    also create a demo tenant, install the demo stores
//	                 through OAuth as a hub does, and show their syncs
//
// Settings: SANDBOX_PORT (8080), HUB_ADMIN_TOKEN (generated and printed when
// unset), PUBLIC_BASE_URL (http://127.0.0.1:<port>), DEMO_SIZE (5000),
// CONTACTSYNC_OAUTH_* (the platforms' OAuth apps; each unset one, and all
// of them with -demo, is the mounted fake's).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/dev/embedded"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/logging"
	"github.com/contactsync/contactsync/pkg/mailchimp/mailchimptest"
	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

func main() {
	demo := flag.Bool("demo", false, "seed a demo tenant and stores, run and show their syncs")
	flag.Parse()
	if err := run(*demo); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

func run(demo bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	port := 8080
	if v := os.Getenv("SANDBOX_PORT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("SANDBOX_PORT=%q is not a port", v)
		}
		port = n
	}
	admin := os.Getenv("HUB_ADMIN_TOKEN")
	generated := admin == ""
	if generated {
		b := make([]byte, 16)
		_, _ = rand.Read(b) // crypto/rand.Read never fails
		admin = "adm_" + hex.EncodeToString(b)
	}
	sealer, err := sealer()
	if err != nil {
		return err
	}
	logFile, err := logTo()
	if err != nil {
		return err
	}
	defer logFile.Close()
	log := logging.New(logFile, slog.LevelInfo)
	app, err := sandbox.Start(ctx, sandbox.Config{
		Addr: fmt.Sprintf("127.0.0.1:%d", port), PublicBaseURL: os.Getenv("PUBLIC_BASE_URL"),
		AdminToken: admin, Sealer: sealer, Names: awsenv.NamesFrom(os.Getenv), Log: log,
		OAuth: oauthApps(port, demo),
	})
	if err != nil {
		return err
	}
	fakes := mountFakes(app, demo)
	fmt.Printf("ready %s\n", app.BaseURL)
	fmt.Printf("console: %s/console\n", app.BaseURL)
	if generated {
		fmt.Printf("admin token: %s   (set HUB_ADMIN_TOKEN to choose one)\n", admin)
	}
	fmt.Printf("logs: %s\n", logFile.Name())
	if demo {
		if err := runDemo(ctx, app, admin, fakes); err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "demo:", err)
		}
	}
	<-ctx.Done()
	fmt.Println("\nshutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return app.Close(shutdown)
}

// demoFakes are the platform fakes the sandbox serves under /_fakes/.
type demoFakes struct {
	shop   *shopifytest.Server
	woo    *woocommercetest.Server
	mc     *mailchimptest.Server
	kl     *klaviyotest.Server
	twilio *twiliotest.Server
}

// demoSize is the Shopify store's size (DEMO_SIZE, default 5000).
func demoSize() int {
	if n, err := strconv.Atoi(os.Getenv("DEMO_SIZE")); err == nil && n > 0 {
		return n
	}
	return 5000
}

// demoLayout places the demo stores' people (fakestore persons by index):
// Shopify holds [0, shop); WooCommerce two fifths as many from
// shop-woo/2, half of them shared with Shopify; the Mailchimp audience a
// twentieth as many from mcFirst (all also in Shopify); Klaviyo a
// twentieth as many from klFirst (all also in WooCommerce). People before mcFirst are
// in Shopify only, those in [shop, klFirst) in WooCommerce only (the
// demo's YES and STOP come from them).
type demoLayout struct {
	shop, woo, wooFirst, mc, mcFirst, kl, klFirst int
}

func layout() demoLayout {
	l := demoLayout{shop: demoSize()}
	l.woo = l.shop * 2 / 5
	l.wooFirst = l.shop - l.woo/2
	l.mc, l.kl = max(l.shop/20, 1), max(l.shop/20, 1)
	l.mcFirst = l.shop / 10
	l.klFirst = l.shop + l.woo/4
	return l
}

// mountFakes serves the platform and provider fakes under the sandbox's
// own address (http://127.0.0.1:<port>/_fakes/<name>), empty unless demo.
func mountFakes(app *sandbox.App, demo bool) demoFakes {
	var l demoLayout
	if demo {
		l = layout()
	}
	f := demoFakes{
		shop: shopifytest.NewStore(shopifytest.Options{Customers: l.shop, Seed: 42, URL: app.BaseURL + "/_fakes/shopify", WebhookSecret: shopSecret}),
		woo: woocommercetest.NewStore(woocommercetest.Options{Customers: l.woo, Guests: l.woo / 20, Seed: 42, ConsentMetaKey: "sms_consent",
			FirstPerson: l.wooFirst, URL: app.BaseURL + "/_fakes/woocommerce"}),
		mc: mailchimptest.NewStore(mailchimptest.Options{Members: l.mc, Seed: 42, FirstPerson: l.mcFirst, URL: app.BaseURL + "/_fakes/mailchimp"}),
		kl: klaviyotest.NewStore(klaviyotest.Options{Profiles: l.kl, Seed: 42, FirstPerson: l.klFirst, URL: app.BaseURL + "/_fakes/klaviyo",
			AllowHTTPEndpoints: true}), // the sandbox serves http,
		twilio: twiliotest.New(twiliotest.Options{Numbers: []string{demoSender}}), // the demo sender is a number of the fake account
	}
	app.Mount("/_fakes/shopify", f.shop.Handler())
	app.Mount("/_fakes/woocommerce", f.woo.Handler())
	app.Mount("/_fakes/mailchimp", f.mc.Handler())
	app.Mount("/_fakes/klaviyo", f.kl.Handler())
	app.Mount("/_fakes/twilio", f.twilio.Handler())
	return f
}

// oauthApps are the OAuth apps of the environment (CONTACTSYNC_OAUTH_*);
// a platform without an app there (and every platform in the demo, which
// installs the mounted fakes) gets the mounted fake's app, so POST
// /v1/connections/authorize works out of the box.
func oauthApps(port int, demo bool) oauth.Apps {
	apps := oauth.FromEnv(os.Getenv)
	if port == 0 {
		return apps
	}
	fake := func(name string) string { return fmt.Sprintf("http://127.0.0.1:%d/_fakes/%s", port, name) }
	if demo || apps.Shopify.ClientID == "" {
		u := fake("shopify")
		apps.Shopify = oauth.App{ClientID: shopifytest.OAuthClientID, ClientSecret: shopifytest.OAuthClientSecret,
			AuthURL: u + "/admin/oauth/authorize?shop={shop}", TokenURL: u + "/admin/oauth/access_token?shop={shop}", APIBaseURL: u, Scopes: apps.Shopify.Scopes}
	}
	if demo || apps.Mailchimp.ClientID == "" {
		u := fake("mailchimp") // its metadata names the fake as the account's API endpoint
		apps.Mailchimp = oauth.App{ClientID: mailchimptest.OAuthClientID, ClientSecret: mailchimptest.OAuthClientSecret,
			AuthURL: u + "/oauth2/authorize", TokenURL: u + "/oauth2/token", MetadataURL: u + "/oauth2/metadata", Scopes: apps.Mailchimp.Scopes}
	}
	if demo || apps.Klaviyo.ClientID == "" {
		u := fake("klaviyo")
		apps.Klaviyo = oauth.App{ClientID: klaviyotest.OAuthClientID, ClientSecret: klaviyotest.OAuthClientSecret,
			AuthURL: u + "/oauth/authorize", TokenURL: u + "/oauth/token", APIBaseURL: u, Scopes: apps.Klaviyo.Scopes}
	}
	return apps
}

// sealer uses CONTACTSYNC_SEAL_KEY, else a key kept in .local/ so a
// restarted sandbox can still open what an earlier one stored.
func sealer() (*seal.Sealer, error) {
	if os.Getenv(seal.EnvKey) != "" {
		return seal.FromEnv(os.Getenv)
	}
	path := filepath.Join(localDir(), "sandbox-seal.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := seal.NewKey()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(key), 0o600); err != nil {
			return nil, err
		}
		b = []byte(key)
	} else if err != nil {
		return nil, err
	}
	return seal.FromEnv(func(string) string { return string(b) })
}

func localDir() string {
	wd, _ := os.Getwd()
	if root, err := embedded.FindRoot(wd); err == nil {
		return filepath.Join(root, ".local")
	}
	return filepath.Join(os.TempDir(), "contactsync")
}

func logTo() (*os.File, error) {
	dir := filepath.Join(localDir(), "log")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(filepath.Join(dir, "sandbox.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
}
