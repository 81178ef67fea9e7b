package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Default ports of the embedded emulators.
const (
	DefaultDynamoDBPort = 8000
	DefaultSQSPort      = 9324
)

// Environment variables that move the emulators' ports.
const (
	EnvDynamoDBPort = "DYNAMODB_LOCAL_PORT"
	EnvSQSPort      = "SQS_LOCAL_PORT"
)

// Config locates the stack's files and ports.
type Config struct {
	Root         string // repository root (holds localstack/ and .local/)
	DynamoDBPort int
	SQSPort      int
}

// ConfigFromEnv returns the configuration for the repository at root, with
// ports from getenv or the defaults.
func ConfigFromEnv(root string, getenv func(string) string) (Config, error) {
	c := Config{Root: root, DynamoDBPort: DefaultDynamoDBPort, SQSPort: DefaultSQSPort}
	for _, p := range []struct {
		env string
		dst *int
	}{{EnvDynamoDBPort, &c.DynamoDBPort}, {EnvSQSPort, &c.SQSPort}} {
		if v := getenv(p.env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 || n > 65535 {
				return Config{}, fmt.Errorf("%s=%q is not a port", p.env, v)
			}
			*p.dst = n
		}
	}
	return c, nil
}

// DynamoDBEndpoint is the URL to put in AWS_ENDPOINT_URL_DYNAMODB.
func (c Config) DynamoDBEndpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", c.DynamoDBPort) }

// SQSEndpoint is the URL to put in AWS_ENDPOINT_URL_SQS.
func (c Config) SQSEndpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", c.SQSPort) }

func (c Config) localDir() string  { return filepath.Join(c.Root, ".local") }
func (c Config) dynamoDir() string { return filepath.Join(c.localDir(), "emulators", "dynamodb") }
func (c Config) sqsDir() string    { return filepath.Join(c.localDir(), "emulators", "sqs") }
func (c Config) runDir() string    { return filepath.Join(c.localDir(), "run") }
func (c Config) logDir() string    { return filepath.Join(c.localDir(), "log") }

type emulator struct {
	name     string
	endpoint string
	probe    func(ctx context.Context, endpoint string) bool
	command  func(c Config) *exec.Cmd
}

func (c Config) emulators() []emulator {
	return []emulator{
		{
			name:     "dynamodb",
			endpoint: c.DynamoDBEndpoint(),
			probe:    probeDynamoDB,
			command: func(c Config) *exec.Cmd {
				dir := c.dynamoDir()
				cmd := exec.Command("java",
					"-Djava.library.path="+filepath.Join(dir, "DynamoDBLocal_lib"),
					"-jar", filepath.Join(dir, "DynamoDBLocal.jar"),
					"-inMemory", "-sharedDb", "-disableTelemetry", "-port", strconv.Itoa(c.DynamoDBPort))
				cmd.Dir = dir
				return cmd
			},
		},
		{
			name:     "sqs",
			endpoint: c.SQSEndpoint(),
			probe:    probeSQS,
			command: func(c Config) *exec.Cmd {
				cmd := exec.Command("node", filepath.Join(c.Root, "localstack", "sqs", "server.cjs"))
				cmd.Dir = c.sqsDir()
				cmd.Env = append(os.Environ(),
					"NODE_PATH="+filepath.Join(c.sqsDir(), "node_modules"),
					EnvSQSPort+"="+strconv.Itoa(c.SQSPort))
				return cmd
			},
		},
	}
}

// Up makes sure both emulators answer: it reuses one that already answers
// on its port and starts (after installing) one that does not. Concurrent
// callers (parallel test processes) serialise on a file lock. It returns the
// names of the emulators it started.
func Up(ctx context.Context, c Config, log io.Writer) ([]string, error) {
	if err := os.MkdirAll(c.runDir(), 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(filepath.Join(c.runDir(), "stack.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	var missing []emulator
	for _, e := range c.emulators() {
		if !e.probe(ctx, e.endpoint) {
			missing = append(missing, e)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	if err := Install(ctx, c, log); err != nil {
		return nil, err
	}
	var started []string
	for _, e := range missing {
		if err := c.start(e); err != nil {
			return started, err
		}
		started = append(started, e.name)
	}
	for _, e := range missing {
		if err := waitReady(ctx, e, 60*time.Second); err != nil {
			return started, fmt.Errorf("%w (see %s)", err, filepath.Join(c.logDir(), e.name+".log"))
		}
		fmt.Fprintf(log, "%s emulator ready at %s\n", e.name, e.endpoint)
	}
	return started, nil
}

func (c Config) start(e emulator) error {
	if err := os.MkdirAll(c.logDir(), 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(c.logDir(), e.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := e.command(c)
	// The emulator outlives this process (tests, make targets): its own
	// session, no inherited pipes, output to a log file.
	cmd.Stdin = nil
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s emulator: %w", e.name, err)
	}
	pid := cmd.Process.Pid
	if err := cmd.Process.Release(); err != nil {
		return err
	}
	return os.WriteFile(c.pidFile(e.name), []byte(strconv.Itoa(pid)), 0o644)
}

// pidFile is per emulator and port, so stacks on other ports (benchmarks,
// a second checkout's settings) never touch each other's records.
func (c Config) pidFile(name string) string {
	port := c.DynamoDBPort
	if name == "sqs" {
		port = c.SQSPort
	}
	return filepath.Join(c.runDir(), fmt.Sprintf("%s-%d.pid", name, port))
}

func waitReady(ctx context.Context, e emulator, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for !e.probe(ctx, e.endpoint) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s emulator did not answer at %s within %v", e.name, e.endpoint, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// Down stops the emulators this tool started (those with PID files) and
// leaves any other process on the ports alone. It returns what it stopped.
func Down(c Config) ([]string, error) {
	var stopped []string
	var errs []error
	for _, e := range c.emulators() {
		b, err := os.ReadFile(c.pidFile(e.name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err == nil {
			// The emulator leads its own process group (Setsid).
			if kerr := syscall.Kill(-pid, syscall.SIGTERM); kerr == nil {
				stopped = append(stopped, e.name)
			}
		}
		if err := os.Remove(c.pidFile(e.name)); err != nil {
			errs = append(errs, err)
		}
	}
	return stopped, errors.Join(errs...)
}

// Running reports whether both emulators answer.
func Running(ctx context.Context, c Config) bool {
	for _, e := range c.emulators() {
		if !e.probe(ctx, e.endpoint) {
			return false
		}
	}
	return true
}

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) // closing releases it anyway
		f.Close()
	}, nil
}

// probeDynamoDB sends an unsigned ListTables; DynamoDB Local answers with a
// JSON body (an error about the missing signature still proves it is up).
func probeDynamoDB(ctx context.Context, endpoint string) bool {
	return probe(ctx, endpoint, "DynamoDB_20120810.ListTables", "application/x-amz-json-1.0", "TableName")
}

// probeSQS sends an unsigned JSON-protocol ListQueues.
func probeSQS(ctx context.Context, endpoint string) bool {
	return probe(ctx, endpoint, "AmazonSQS.ListQueues", "application/x-amz-json-1.0", "")
}

func probe(ctx context.Context, endpoint, target, contentType, want string) bool {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader("{}"))
	if err != nil {
		return false
	}
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/x/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode < 500 && (want == "" || strings.Contains(string(body), want))
}
