package compose_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/seal"
)

// BenchmarkFootprint measures each function's Lambda footprint (README,
// "Lambda footprint"), one sub-benchmark per function of
// resources.Functions:
//
//   - MiB/bootstrap and MiB/zip: the bootstrap as `make build` makes it
//     (linux/arm64, -tags lambda.norpc -trimpath -ldflags "-s -w"), and
//     zipped (deflate, as zip does);
//   - ms/init: the cold start, averaged over the runs — from starting the
//     process to its first request for an invocation from the Lambda
//     Runtime API (a fake on loopback), i.e. its handler ready: the same
//     build for this machine's architecture, run with the settings its
//     function is deployed with (no secret ARN: nothing is fetched).
//     min-ms/init is the fastest run, the one least disturbed by other work
//     on the machine; cpu-ms/init the CPU time (user and system, every
//     thread) a start takes, which waiting for a busy machine's cores does
//     not inflate.
//
// The bootstraps are built once per function, outside the timing.
func BenchmarkFootprint(b *testing.B) {
	root := moduleRoot(b)
	ready := make(chan struct{}, 1)
	runtimeAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/runtime/invocation/next") {
			select {
			case ready <- struct{}{}:
			default:
			}
			<-r.Context().Done() // hold the long poll until the process ends
		}
	}))
	defer runtimeAPI.Close()
	settings := []string{
		"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(runtimeAPI.URL, "http://"), "AWS_LAMBDA_FUNCTION_NAME=footprint", "_LAMBDA_SERVER_PORT=",
		awsenv.EnvTable + "=contactsync", awsenv.EnvPagesQueueURL + "=http://127.0.0.1:9/q/pages", awsenv.EnvOutboxQueueURL + "=http://127.0.0.1:9/q/outbox",
		awsenv.EnvPagesDLQURL + "=http://127.0.0.1:9/q/pages-dlq", seal.EnvKey + "=" + seal.NewKey(), awsenv.EnvAdminToken + "=admin",
		awsenv.EnvPublicBaseURL + "=https://hooks.example.com", "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY=example", "AWS_SESSION_TOKEN=example",
	}
	for _, f := range resources.Functions() {
		b.Run(f.Name, func(b *testing.B) {
			dir := b.TempDir()
			size := build(b, root, f.Name, filepath.Join(dir, "arm64", "bootstrap"), "linux", "arm64")
			zipped := zipSize(b, filepath.Join(dir, "arm64", "bootstrap"))
			bin := filepath.Join(dir, "host", "bootstrap")
			build(b, root, f.Name, bin, runtime.GOOS, runtime.GOARCH)
			var total, fastest, cpu time.Duration
			runs := 0
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				cmd := exec.CommandContext(ctx, bin)
				cmd.Env = append(os.Environ(), settings...)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				start := time.Now()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				exited := make(chan error, 1)
				go func() { exited <- cmd.Wait() }()
				select {
				case <-ready:
				case err := <-exited:
					cancel()
					b.Fatalf("%s exited before asking for an invocation: %v\n%s", f.Name, err, out.Bytes())
				case <-ctx.Done():
					b.Fatalf("%s never asked for an invocation\n%s", f.Name, out.Bytes())
				}
				took := time.Since(start)
				_ = cmd.Process.Kill()
				<-exited
				cancel()
				total += took
				cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				if runs == 0 || took < fastest {
					fastest = took
				}
				runs++
			}
			const mib = 1 << 20
			b.ReportMetric(float64(size)/mib, "MiB/bootstrap")
			b.ReportMetric(float64(zipped)/mib, "MiB/zip")
			b.ReportMetric(float64(total.Microseconds())/1000/float64(runs), "ms/init")
			b.ReportMetric(float64(fastest.Microseconds())/1000, "min-ms/init")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(runs), "cpu-ms/init")
		})
	}
}

// build builds function fn's bootstrap for goos/goarch with the flags of
// `make build` into out and returns its size.
func build(b *testing.B, root, fn, out, goos, goarch string) int64 {
	b.Helper()
	gocmd, err := exec.LookPath("go") // go test puts its own go first on PATH
	if err != nil {
		b.Fatalf("no go command on PATH: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gocmd, "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out, "./functions/"+fn)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building %s for %s/%s: %v\n%s", fn, goos, goarch, err, msg)
	}
	st, err := os.Stat(out)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

// zipSize is the size of a zip holding the file at path as "bootstrap".
func zipSize(b *testing.B, path string) int64 {
	b.Helper()
	src, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "bootstrap", Method: zip.Deflate})
	if err == nil {
		_, err = io.Copy(w, src)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	return int64(buf.Len())
}

// moduleRoot is the directory of the module's go.mod (the functions are
// built from there).
func moduleRoot(b *testing.B) string {
	b.Helper()
	dir, err := os.Getwd()
	if err != nil {
		b.Fatal(err)
	}
	for {
		if mod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(mod), "module github.com/contactsync/contactsync\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			b.Fatal("no go.mod of github.com/contactsync/contactsync above the working directory")
		}
		dir = parent
	}
}
