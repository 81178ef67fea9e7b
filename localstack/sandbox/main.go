// Command sandbox runs contactsync on this machine: the real handlers behind
// one HTTP server (the routes of design.md §6), SQS pollers in place of the
// Lambda event source mappings, the daily schedule (POST /_sandbox/schedule
// fires it now), and the platform fakes. It expects the embedded stack (or
// LocalStack) named by AWS_ENDPOINT_URL*; `make sandbox` and `make run` start
// it after `make stack-up`.
//
//	sandbox          serve with no demo data; prints "ready <base url>"
//	sandbox -demo    also seed a demo tenant and stores and show a sync
//
// Settings: SANDBOX_PORT (8080), HUB_ADMIN_TOKEN (generated and printed when
// unset), PUBLIC_BASE_URL (http://127.0.0.1:<port>), DEMO_SIZE (5000).
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
	"github.com/contactsync/contactsync/pkg/embedded"
	"github.com/contactsync/contactsync/pkg/logging"
	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/sandbox"
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
		OAuth: oauthApps(port),
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
	twilio *twiliotest.Server
}

// demoSize is the Shopify store's size (DEMO_SIZE, default 5000); the
// WooCommerce store holds two fifths as many, a quarter of them shared.
func demoSize() int {
	if n, err := strconv.Atoi(os.Getenv("DEMO_SIZE")); err == nil && n > 0 {
		return n
	}
	return 5000
}

// mountFakes serves the platform and provider fakes under the sandbox's
// own address (http://127.0.0.1:<port>/_fakes/<name>), empty unless demo.
func mountFakes(app *sandbox.App, demo bool) demoFakes {
	shopSize, wooSize := 0, 0
	if demo {
		shopSize = demoSize()
		wooSize = shopSize * 2 / 5
	}
	f := demoFakes{
		shop: shopifytest.NewStore(shopifytest.Options{Customers: shopSize, Seed: 42, URL: app.BaseURL + "/_fakes/shopify", WebhookSecret: shopSecret}),
		woo: woocommercetest.NewStore(woocommercetest.Options{Customers: wooSize, Guests: wooSize / 20, Seed: 42, ConsentMetaKey: "sms_consent",
			FirstPerson: shopSize - wooSize/2, URL: app.BaseURL + "/_fakes/woocommerce"}),
		twilio: twiliotest.New(twiliotest.Options{Numbers: []string{demoSender}}), // the demo sender is a number of the fake account
	}
	app.Mount("/_fakes/shopify", f.shop.Handler())
	app.Mount("/_fakes/woocommerce", f.woo.Handler())
	app.Mount("/_fakes/twilio", f.twilio.Handler())
	return f
}

// oauthApps are the OAuth apps of the environment (CONTACTSYNC_OAUTH_*);
// without a Shopify app there, Shopify installs go to the mounted fake
// shop's app, so POST /v1/connections/authorize works out of the box.
func oauthApps(port int) oauth.Apps {
	apps := oauth.FromEnv(os.Getenv)
	if apps.Shopify.ClientID == "" && port != 0 {
		fake := fmt.Sprintf("http://127.0.0.1:%d/_fakes/shopify", port)
		apps.Shopify.ClientID, apps.Shopify.ClientSecret = shopifytest.OAuthClientID, shopifytest.OAuthClientSecret
		apps.Shopify.AuthURL, apps.Shopify.TokenURL = fake+"/admin/oauth/authorize?shop={shop}", fake+"/admin/oauth/access_token?shop={shop}"
		apps.Shopify.APIBaseURL = fake
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
