package embedded

import (
	"context"
	"io"
	"net"
	"os"
	"slices"
	"testing"
	"time"
)

func TestConfigFromEnv_RejectsBadPort(t *testing.T) {
	for _, v := range []string{"x", "0", "70000"} {
		if _, err := ConfigFromEnv("/r", func(k string) string {
			if k == EnvSQSPort {
				return v
			}
			return ""
		}); err == nil {
			t.Errorf("SQS_LOCAL_PORT=%q accepted", v)
		}
	}
	c, err := ConfigFromEnv("/r", func(string) string { return "" })
	if err != nil || c.DynamoDBPort != DefaultDynamoDBPort || c.SQSPort != DefaultSQSPort {
		t.Errorf("defaults = %+v, %v", c, err)
	}
}

func TestFindRoot_FromSubdirectory(t *testing.T) {
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root + "/localstack/sqs/package-lock.json"); err != nil {
		t.Errorf("root %s has no localstack/sqs/package-lock.json: %v", root, err)
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// BenchmarkColdStart measures the embedded stack's cold start: from starting
// both emulator processes until both answer (installation excluded).
func BenchmarkColdStart(b *testing.B) {
	root, err := FindRoot(".")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	base := Config{Root: root, DynamoDBPort: freePort(b), SQSPort: freePort(b)}
	if err := Install(ctx, base, io.Discard); err != nil {
		b.Fatal(err)
	}
	var starts []time.Duration
	for b.Loop() {
		c := Config{Root: root, DynamoDBPort: freePort(b), SQSPort: freePort(b)}
		start := time.Now()
		if _, err := Up(ctx, c, io.Discard); err != nil {
			b.Fatal(err)
		}
		starts = append(starts, time.Since(start))
		b.StopTimer()
		if _, err := Down(c); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	slices.Sort(starts)
	b.ReportMetric(starts[len(starts)/2].Seconds(), "s/start(median)")
}
