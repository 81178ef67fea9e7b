package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/seal"
)

// BenchmarkColdStart measures each function's cold start: from starting the
// process until it asks the Lambda Runtime API for its first invocation
// (ready to handle), with a fake Runtime API on loopback. Binaries are
// built natively with the Lambda build flags.
func BenchmarkColdStart(b *testing.B) {
	dir := b.TempDir()
	ready := make(chan struct{}, 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/invocation/next") {
			select {
			case ready <- struct{}{}:
			default:
			}
			<-r.Context().Done() // hold the long poll until the process dies
		}
	}))
	defer api.Close()
	env := append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(api.URL, "http://"), seal.EnvKey+"="+seal.NewKey(),
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "CONTACTSYNC_PAGES_QUEUE_URL=http://127.0.0.1:9/q",
		"CONTACTSYNC_OUTBOX_QUEUE_URL=http://127.0.0.1:9/o", "_LAMBDA_SERVER_PORT=", "AWS_LAMBDA_FUNCTION_NAME=bench")
	for _, fn := range resources.Functions() {
		bin := filepath.Join(dir, fn.Name)
		build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", bin, "../../functions/"+fn.Name)
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("building %s: %v\n%s", fn.Name, err, out)
		}
		b.Run(fn.Name, func(b *testing.B) {
			var samples []time.Duration
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				cmd := exec.CommandContext(ctx, bin)
				cmd.Env = env
				start := time.Now()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				select {
				case <-ready:
					samples = append(samples, time.Since(start))
				case <-ctx.Done():
					b.Fatalf("%s never asked for an invocation", fn.Name)
				}
				cancel()
				_ = cmd.Wait()
			}
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "ms-to-ready(median)")
			if fi, err := os.Stat(bin); err == nil {
				b.ReportMetric(float64(fi.Size())/1e6, "MB-binary")
			}
		})
	}
}
