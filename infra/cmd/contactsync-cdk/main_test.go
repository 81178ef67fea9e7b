package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/contactsync/contactsync/infra/internal/placeholder"
)

// TestSynth runs the app as `cdk synth` does (context in, cloud assembly
// out) and checks the assembly: the template, the alarm subscription from
// context, and cdk-nag's report with no non-compliant rule.
func TestSynth(t *testing.T) {
	out := t.TempDir()
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir:  jsii.String(out),
		Context: &map[string]any{"alarmEmail": "ops@example.com"},
	})
	if err := synth(app, placeholder.Zips(t)); err != nil {
		t.Fatal(err)
	}
	checkAssembly(t, out, "ops@example.com")
}

func TestSynth_RejectsBadContext(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir:  jsii.String(t.TempDir()),
		Context: &map[string]any{"publicBaseUrl": "http://insecure.example.com"},
	})
	if err := synth(app, placeholder.Zips(t)); err == nil {
		t.Fatal("http:// publicBaseUrl accepted")
	}
}

// TestMakeSynth runs the pinned CDK CLI the way `make synth` does (cdk.json
// → go run ./cmd/contactsync-cdk), with the network off when the machine
// allows it. It needs infra/node_modules (`make infra-npm`, which `make
// test` runs first); without it the test fails.
func TestMakeSynth(t *testing.T) {
	cdk, err := filepath.Abs("../../node_modules/.bin/cdk")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cdk); err != nil {
		t.Fatalf("the pinned CDK CLI is not installed (%v): run make infra-npm (make test does)", err)
	}
	out := t.TempDir()
	args := []string{cdk, "synth", "--quiet", "--no-notices", "-o", out, "-c", "alarmEmail=alarms@example.com"}
	// unshare -n runs the CLI and the app without a network, proving synth
	// is offline; not every machine lets a test do that.
	if exec.Command("unshare", "-n", "true").Run() == nil {
		args = append([]string{"unshare", "-n"}, args...)
		t.Log("network off (unshare -n)")
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CONTACTSYNC_ASSET_DIR="+placeholder.Zips(t), "GOFLAGS=-mod=readonly", "GOPROXY=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cdk synth: %v\n%s", err, b)
	}
	checkAssembly(t, out, "alarms@example.com")
}

func checkAssembly(t *testing.T, dir, email string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "ContactSync.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	subs := 0
	for _, r := range tpl.Resources {
		if r.Type == "AWS::SNS::Subscription" {
			subs++
			if r.Properties["Protocol"] != "email" || r.Properties["Endpoint"] != email {
				t.Errorf("subscription %v", r.Properties)
			}
		}
	}
	if subs != 1 {
		t.Errorf("%d SNS subscriptions, want 1", subs)
	}
	f, err := os.Open(filepath.Join(dir, "AwsSolutions-ContactSync-NagReport.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 {
		t.Fatal("empty cdk-nag report")
	}
	for _, r := range rows[1:] {
		if !strings.EqualFold(r[2], "Compliant") && !strings.EqualFold(r[2], "Suppressed") {
			t.Errorf("cdk-nag: %s on %s is %s", r[0], r[1], r[2])
		}
	}
}
