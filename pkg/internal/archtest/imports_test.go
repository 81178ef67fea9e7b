package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/contactsync/contactsync/"

// handlers are the packages of the Lambda handlers, one per function (the
// api function's is hubapi). pkg/console is not one: it is the page and
// scripts hubapi serves, and imports nothing of ours.
var handlers = []string{"pkg/bulksync", "pkg/webhook", "pkg/inbound", "pkg/hubapi", "pkg/outbox", "pkg/scheduler"}

// wiring are the packages under pkg/ that may depend on handlers: the
// composition root (each function's handler is built in its own package
// under it), and the sandbox that hosts the handlers locally.
var wiring = []string{"pkg/compose", "pkg/dev/sandbox",
	"pkg/compose/apifn", "pkg/compose/webhookfn", "pkg/compose/inboundfn", "pkg/compose/schedulerfn", "pkg/compose/bulksyncfn", "pkg/compose/outboxfn"}

// linked are the handlers each function's bootstrap may link: its own (the
// scheduler's tick also ends the runs of dead-lettered pages with
// bulksync's handler). Nothing else of a handler is linked or initialized.
var linked = map[string][]string{
	"api": {"pkg/hubapi"}, "webhook": {"pkg/webhook"}, "inbound": {"pkg/inbound"},
	"scheduler": {"pkg/scheduler", "pkg/bulksync"}, "bulksync": {"pkg/bulksync"}, "outbox": {"pkg/outbox"}, "health": nil,
}

// notOnLambda are modules a deployed function has no use for: the SDK's
// shared-config loader and the credential providers behind it (profiles,
// SSO, web identity, the instance metadata service). A function reads its
// AWS configuration from its environment (awsenv.LambdaConfig).
var notOnLambda = []string{
	"github.com/aws/aws-sdk-go-v2/config", "github.com/aws/aws-sdk-go-v2/service/sso", "github.com/aws/aws-sdk-go-v2/service/ssooidc",
	"github.com/aws/aws-sdk-go-v2/service/sts", "github.com/aws/aws-sdk-go-v2/service/signin", "github.com/aws/aws-sdk-go-v2/feature/ec2/imds",
}

// pure is the core that decides without I/O, and the source values it
// takes.
var pure = []string{"pkg/phone", "pkg/merge", "pkg/consent", "pkg/source"}

type listed struct {
	ImportPath    string
	Imports, Deps []string
}

// graph lists every package under pkg/ with its imports and dependencies
// (tests' imports aside), by module-relative path.
func graph(t *testing.T) map[string]listed {
	t.Helper()
	out := goList(t, "-json=ImportPath,Imports,Deps", module+"pkg/...")
	pkgs := map[string]listed{}
	for _, p := range decodeListed(t, out) {
		p.Imports, p.Deps = trim(p.Imports), trim(p.Deps)
		pkgs[strings.TrimPrefix(p.ImportPath, module)] = p
	}
	for _, h := range handlers {
		if _, ok := pkgs[h]; !ok {
			t.Fatalf("handler %s is not in the listing: keep the lists in this file up to date", h)
		}
	}
	return pkgs
}

func trim(paths []string) []string {
	for i, p := range paths {
		paths[i] = strings.TrimPrefix(p, module)
	}
	return paths
}

// via names p's direct imports that bring in dep.
func via(pkgs map[string]listed, p listed, dep string) []string {
	var out []string
	for _, imp := range p.Imports {
		if imp == dep || slices.Contains(pkgs[imp].Deps, dep) {
			out = append(out, imp)
		}
	}
	return out
}

// TestImports_HandlersStandSideBySide: no handler depends on another, and
// nothing under pkg/ but the wiring depends on a handler (the connectors,
// the queue messages, the store and the platform packages sit below them).
func TestImports_HandlersStandSideBySide(t *testing.T) {
	t.Parallel()
	pkgs := graph(t)
	for _, name := range slices.Sorted(maps.Keys(pkgs)) {
		p := pkgs[name]
		if slices.Contains(wiring, name) {
			continue
		}
		for _, h := range handlers {
			if h == name || !slices.Contains(p.Deps, h) {
				continue
			}
			what := "package below the handlers"
			if slices.Contains(handlers, name) {
				what = "handler"
			}
			t.Errorf("%s %s depends on handler %s (through %s)", what, name, h, strings.Join(via(pkgs, p, h), ", "))
		}
	}
}

// TestImports_PureCoreLinksNoNetworkOrAWS: the pure core and the source
// values stay free of net/http and the AWS SDK.
func TestImports_PureCoreLinksNoNetworkOrAWS(t *testing.T) {
	t.Parallel()
	pkgs := graph(t)
	for _, name := range pure {
		p, ok := pkgs[name]
		if !ok {
			t.Fatalf("%s is not in the listing", name)
		}
		for _, dep := range p.Deps {
			if dep == "net/http" || strings.HasPrefix(dep, "github.com/aws/") {
				t.Errorf("pure package %s depends on %s (through %s)", name, dep, strings.Join(via(pkgs, p, dep), ", "))
			}
		}
	}
}

// TestImports_FunctionsLinkNoHarness: what runs on AWS (every function's
// main and all it depends on) links nothing of the dev harness (pkg/dev:
// sandbox, embedded stack, stacktest, fakestore, chaos, provisioning) and
// no platform or provider fake (the *test packages, pkg/fakeapi).
func TestImports_FunctionsLinkNoHarness(t *testing.T) {
	t.Parallel()
	out := goList(t, "-deps", "-f", "{{.ImportPath}}", module+"functions/...")
	n := 0
	for _, dep := range strings.Fields(string(out)) {
		rel, ours := strings.CutPrefix(dep, module)
		if !ours {
			continue
		}
		n++
		last := rel[strings.LastIndex(rel, "/")+1:]
		if strings.HasPrefix(rel, "pkg/dev/") || rel == "pkg/fakeapi" || (strings.HasPrefix(rel, "pkg/") && strings.HasSuffix(last, "test") && last != "archtest") {
			t.Errorf("a deployed function links %s, which is test or dev harness", rel)
		}
	}
	if n < 10 {
		t.Fatalf("go list found only %d of our packages under functions/: the listing is wrong", n)
	}
}

// TestImports_EachFunctionLinksItsOwnHandler: a function's bootstrap links
// the handlers linked lists for it and no other (its main imports only its
// own package under pkg/compose), and none of the SDK's shared-config
// loader (notOnLambda): what it does not link it neither ships nor
// initializes at cold start (README, "Lambda footprint").
func TestImports_EachFunctionLinksItsOwnHandler(t *testing.T) {
	t.Parallel()
	out := goList(t, "-json=ImportPath,Deps", module+"functions/...")
	seen := map[string]bool{}
	for _, p := range decodeListed(t, out) {
		fn := strings.TrimPrefix(p.ImportPath, module+"functions/")
		want, ok := linked[fn]
		if !ok {
			t.Errorf("function %s is not in linked: add the handlers it may link", fn)
			continue
		}
		seen[fn] = true
		deps := trim(p.Deps)
		for _, h := range handlers {
			if has := slices.Contains(deps, h); has != slices.Contains(want, h) {
				t.Errorf("function %s links handler %s: %v, want %v", fn, h, has, !has)
			}
		}
		for _, dep := range deps {
			for _, mod := range notOnLambda {
				if dep == mod || strings.HasPrefix(dep, mod+"/") {
					t.Errorf("function %s links %s, which no Lambda function uses", fn, dep)
				}
			}
		}
	}
	for fn := range linked {
		if !seen[fn] {
			t.Errorf("go list found no function %s", fn)
		}
	}
}

// goList runs go list with args (the go command go test runs under is first
// on PATH) and returns what it printed.
func goList(t *testing.T, args ...string) []byte {
	t.Helper()
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command on PATH: %v", err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(gocmd, append([]string{"list"}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	return out
}

// decodeListed decodes the packages go list -json printed.
func decodeListed(t *testing.T, out []byte) []listed {
	t.Helper()
	var ps []listed
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return ps
		} else if err != nil {
			t.Fatalf("decoding go list: %v", err)
		}
		ps = append(ps, p)
	}
}
