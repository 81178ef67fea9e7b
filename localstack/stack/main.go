// Command stack manages the embedded local AWS stack (DynamoDB Local and the
// SQS emulator) under .local/:
//
//	go run ./localstack/stack up     install if needed, start what is not running, provision
//	go run ./localstack/stack down   stop what `up` started
//	go run ./localstack/stack env    print the endpoint variables for a shell
//
// Ports come from DYNAMODB_LOCAL_PORT and SQS_LOCAL_PORT.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/embedded"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "stack:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: stack up|down|env|status")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := embedded.FindRoot(wd)
	if err != nil {
		return err
	}
	cfg, err := embedded.ConfigFromEnv(root, os.Getenv)
	if err != nil {
		return err
	}
	switch args[0] {
	case "up":
		start := time.Now()
		started, err := embedded.Up(ctx, cfg, os.Stderr)
		if err != nil {
			return err
		}
		if len(started) == 0 {
			fmt.Fprintln(os.Stderr, "embedded stack already running: reusing it")
		} else {
			fmt.Fprintf(os.Stderr, "started %s in %.1fs\n", strings.Join(started, ", "), time.Since(start).Seconds())
		}
		fmt.Fprintf(os.Stderr, "DynamoDB %s  SQS %s\n", cfg.DynamoDBEndpoint(), cfg.SQSEndpoint())
	case "down":
		stopped, err := embedded.Down(cfg)
		if len(stopped) > 0 {
			fmt.Fprintf(os.Stderr, "stopped %s\n", strings.Join(stopped, ", "))
		} else {
			fmt.Fprintln(os.Stderr, "nothing started by stack up is running")
		}
		return err
	case "env":
		fmt.Printf("export AWS_ENDPOINT_URL_DYNAMODB=%s\nexport AWS_ENDPOINT_URL_SQS=%s\n", cfg.DynamoDBEndpoint(), cfg.SQSEndpoint())
	case "status":
		if !embedded.Running(ctx, cfg) {
			return fmt.Errorf("embedded stack is not running")
		}
		fmt.Fprintln(os.Stderr, "embedded stack is running")
	default:
		return fmt.Errorf("unknown command %q (want up, down, env or status)", args[0])
	}
	return nil
}
