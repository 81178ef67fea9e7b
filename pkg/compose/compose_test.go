package compose_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/compose"
	"github.com/contactsync/contactsync/pkg/compose/apifn"
	"github.com/contactsync/contactsync/pkg/compose/bulksyncfn"
	"github.com/contactsync/contactsync/pkg/compose/inboundfn"
	"github.com/contactsync/contactsync/pkg/compose/outboxfn"
	"github.com/contactsync/contactsync/pkg/compose/schedulerfn"
	"github.com/contactsync/contactsync/pkg/compose/webhookfn"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/seal"
)

// lookup reads settings from m, and the AWS ones (the stack's endpoints,
// which stacktest puts in the process environment) from the environment.
func lookup(m map[string]string) func(string) string {
	return func(k string) string {
		if strings.HasPrefix(k, "AWS_") {
			return os.Getenv(k)
		}
		return m[k]
	}
}

// TestLoad_ReadsWhatResourcesSays: each function loads exactly the
// settings resources.Functions gives it (what the CDK app sets): a function
// without the seal key or admin token starts without them, one that needs
// them does not start without them, each makes only the AWS clients it
// uses, and every handler builds.
func TestLoad_ReadsWhatResourcesSays(t *testing.T) {
	s := stacktest.New(t) // AWS_ENDPOINT_URL_* point at the stack
	key := seal.NewKey()
	full := map[string]string{
		awsenv.EnvTable: s.Table, awsenv.EnvPagesQueueURL: s.PagesQueueURL, awsenv.EnvOutboxQueueURL: s.OutboxQueueURL,
		awsenv.EnvPagesDLQURL: s.PagesDLQURL, seal.EnvKey: key, awsenv.EnvAdminToken: "adm", awsenv.EnvPublicBaseURL: "https://hooks.example.com",
	}
	ctx := context.Background()
	for _, f := range resources.Functions() {
		if f.Name == "health" {
			continue // no configuration: its main starts health.Handler alone
		}
		e, err := compose.Load(ctx, f.Name, lookup(full))
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if (e.Sealer != nil) != f.SealKey || (e.AdminToken != "") != f.AdminToken || (e.PublicBaseURL != "") != f.PublicURL {
			t.Errorf("%s loaded sealer %v, admin token %v, public URL %q; resources says %+v", f.Name, e.Sealer != nil, e.AdminToken != "", e.PublicBaseURL, f)
		}
		if e.Names.Table != s.Table {
			t.Errorf("%s: table %q", f.Name, e.Names.Table)
		}
		// Only the AWS clients f uses.
		if (e.DynamoDB != nil) != f.Table || (e.SQS != nil) != (len(f.Sends)+len(f.Consumes) > 0) {
			t.Errorf("%s made DynamoDB %v, SQS %v; resources says %+v", f.Name, e.DynamoDB != nil, e.SQS != nil, f)
		}
		switch f.Name {
		case apifn.Name:
			_ = apifn.New(e)
		case webhookfn.Name:
			_ = webhookfn.New(e)
		case inboundfn.Name:
			_ = inboundfn.New(e)
		case schedulerfn.Name:
			_ = schedulerfn.New(e)
		case bulksyncfn.Name:
			_ = bulksyncfn.New(e)
		case outboxfn.Name:
			_ = outboxfn.New(e)
		default:
			t.Errorf("compose builds no handler for %s", f.Name)
		}
		if f.SealKey {
			without := func(k string) string {
				if k == seal.EnvKey {
					return ""
				}
				return lookup(full)(k)
			}
			if _, err := compose.Load(ctx, f.Name, without); err == nil {
				t.Errorf("%s started without its seal key", f.Name)
			}
		}
	}
	if _, err := compose.Load(ctx, "nope", lookup(nil)); err == nil {
		t.Error("unknown function loaded")
	}
	// The bulk-sync consumer's page window: unset is resources' (0 here),
	// "off" none, a number that many pages; anything else does not start.
	for v, want := range map[string]int{"": 0, "off": -1, "7": 7} {
		env := map[string]string{awsenv.EnvPageWindow: v}
		for k, x := range full {
			env[k] = x
		}
		e, err := compose.Load(ctx, bulksyncfn.Name, lookup(env))
		if err != nil || e.PageWindow != want {
			t.Errorf("%s=%q: page window %d (%v), want %d", awsenv.EnvPageWindow, v, e.PageWindow, err, want)
		}
	}
	for _, v := range []string{"0", "-3", "many", "100000"} {
		env := map[string]string{awsenv.EnvPageWindow: v}
		for k, x := range full {
			env[k] = x
		}
		if _, err := compose.Load(ctx, bulksyncfn.Name, lookup(env)); err == nil || !strings.Contains(err.Error(), awsenv.EnvPageWindow) {
			t.Errorf("%s=%q: loaded (%v), want an error naming the setting", awsenv.EnvPageWindow, v, err)
		}
	}
}

// TestFor_ClearsWhatAFunctionIsNotGiven.
func TestFor_ClearsWhatAFunctionIsNotGiven(t *testing.T) {
	sealer, err := seal.FromEnv(func(string) string { return seal.NewKey() })
	if err != nil {
		t.Fatal(err)
	}
	all := compose.Env{
		Names:  awsenv.Names{Table: "t", PagesQueueURL: "p", OutboxQueueURL: "o", PagesDLQURL: "d"},
		Sealer: sealer, AdminToken: "adm", PublicBaseURL: "https://x",
	}
	sched := all.For("scheduler")
	// The scheduler starts runs (pages), sweeps lost outbox markers
	// (outbox) and drains the pages DLQ; its webhook check opens
	// connections' credentials (seal key) and registers their webhook URLs
	// (public URL); it holds no admin token.
	if sched.Sealer == nil || sched.AdminToken != "" || sched.PublicBaseURL != "https://x" || sched.Names.OutboxQueueURL != "o" || sched.Names.PagesDLQURL != "d" ||
		sched.Names.PagesQueueURL != "p" || sched.Names.Table != "t" {
		t.Errorf("scheduler gets %+v", sched)
	}
	api := all.For("api")
	if api.Sealer == nil || api.AdminToken != "adm" || api.PublicBaseURL != "https://x" || api.Names.PagesDLQURL != "" || api.Names.OutboxQueueURL != "o" {
		t.Errorf("api gets %+v", api)
	}
	if wh := all.For("webhook"); wh.AdminToken != "" || wh.Names.PagesQueueURL != "" {
		t.Errorf("webhook gets %+v", wh)
	}
}

// TestLoad_OAuthAppsAsResourcesSays: a function gets the OAuth apps
// resources.Functions lists for it and no other (the api every one for the
// installs, the functions that refresh tokens Klaviyo's), loaded or built
// for the sandbox alike.
func TestLoad_OAuthAppsAsResourcesSays(t *testing.T) {
	s := stacktest.New(t)
	full := map[string]string{
		awsenv.EnvTable: s.Table, awsenv.EnvPagesQueueURL: s.PagesQueueURL, awsenv.EnvOutboxQueueURL: s.OutboxQueueURL,
		awsenv.EnvPagesDLQURL: s.PagesDLQURL, seal.EnvKey: seal.NewKey(), awsenv.EnvAdminToken: "adm", awsenv.EnvPublicBaseURL: "https://hooks.example.com",
	}
	platforms := []string{resources.OAuthShopify, resources.OAuthMailchimp, resources.OAuthKlaviyo}
	for _, p := range platforms {
		full[awsenv.EnvOAuthClientID(p)], full[awsenv.EnvOAuthClientSecret(p)] = p+"-client", p+"-secret"
	}
	all, err := compose.Load(context.Background(), "api", lookup(full))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range resources.Functions() {
		loaded := all.For(f.Name) // what the sandbox builds f from
		if f.Name != "health" {
			if loaded, err = compose.Load(context.Background(), f.Name, lookup(full)); err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
		}
		for _, e := range []compose.Env{loaded, all.For(f.Name)} {
			for _, p := range platforms {
				app := e.OAuth.App(p)
				want := slices.Contains(f.OAuthApps, p)
				if app.Configured() != want || (want && (app.ClientID != p+"-client" || app.ClientSecret != p+"-secret")) {
					t.Errorf("%s: %s app configured %v, want %v (resources.Functions)", f.Name, p, app.Configured(), want)
				}
			}
		}
	}
	if api, _ := resources.FunctionByName("api"); len(api.OAuthApps) != len(platforms) {
		t.Errorf("the api function reads the OAuth apps %v; the installs need all of %v", api.OAuthApps, platforms)
	}
}
