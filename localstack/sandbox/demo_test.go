package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/seal"
)

// TestDemo runs the sandbox with -demo (what `make run` runs, on a small
// store) as a separate process and reads what it prints: the four stores
// installed through OAuth as a hub does (authorize, the fake's consent
// page, our callback, a draft; options, PATCH, activate), their install
// syncs' reports, the live events, and the YES and STOP replies taking
// effect.
func TestDemo(t *testing.T) {
	stack := stacktest.New(t)
	port := freePort(t)
	suffix := fmt.Sprint(time.Now().UnixNano())
	t.Cleanup(func() { // the sandbox provisioned these; remove them
		ctx := context.Background()
		_, _ = stack.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("dmo-" + suffix)})
		for _, name := range []string{"dmo-p-" + suffix, "dmo-p-" + suffix + "-dlq", "dmo-o-" + suffix, "dmo-o-" + suffix + "-dlq"} {
			if out, err := stack.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)}); err == nil {
				_, _ = stack.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", ".", "-demo")
	cmd.Env = append(os.Environ(), fmt.Sprintf("SANDBOX_PORT=%d", port), "HUB_ADMIN_TOKEN=test-admin", "DEMO_SIZE=400",
		"CONTACTSYNC_TABLE=dmo-"+suffix, "CONTACTSYNC_PAGES_QUEUE=dmo-p-"+suffix, "CONTACTSYNC_OUTBOX_QUEUE=dmo-o-"+suffix,
		seal.EnvKey+"="+seal.NewKey(),
		// An OAuth app of the environment: the demo installs the fakes anyway.
		"CONTACTSYNC_OAUTH_SHOPIFY_CLIENT_ID=real-app", "CONTACTSYNC_OAUTH_SHOPIFY_CLIENT_SECRET=real-secret")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errOut, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // the whole group: go run and the sandbox
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
	// Everything up to the "try it" section, which ends the demo's output.
	lines := make(chan []string, 1)
	go func() {
		var out []string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out = append(out, sc.Text())
			if strings.HasPrefix(sc.Text(), "curl -s -X POST") {
				break
			}
		}
		lines <- out
	}()
	// The demo's failure ("demo: ...") goes to stderr, and the sandbox
	// keeps serving.
	failed := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(errOut)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "demo:") || strings.HasPrefix(sc.Text(), "sandbox:") {
				failed <- sc.Text()
				return
			}
		}
	}()
	var out []string
	select {
	case out = <-lines:
	case msg := <-failed:
		t.Fatalf("the demo failed: %s", msg)
	case <-ctx.Done():
		t.Fatal("the demo did not finish")
	}
	text := strings.Join(out, "\n")
	if !strings.Contains(text, "== try it") {
		t.Fatalf("the demo stopped early:\n%s", text)
	}
	for _, p := range []struct{ label, path string }{
		{"Shopify", "shopify"}, {"WooCommerce", "woocommerce"}, {"Mailchimp", "mailchimp"}, {"Klaviyo", "klaviyo"},
	} {
		steps := regexp.MustCompile(`(?m)^` + p.label + ` +authorize → ` + p.path + ` consent page → callback /oauth/` + p.path + `/callback → draft \S+\n +options: .* → PATCH .* → activate: install sync r\w+; webhooks: `)
		if !steps.MatchString(text) {
			t.Errorf("%s was not installed through OAuth:\n%s", p.label, text)
		}
		if !strings.Contains(text, "== sync report: "+p.label+" (install, completed)") {
			t.Errorf("no completed install report for %s", p.label)
		}
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`reached the report in [0-9.]+s`),
		regexp.MustCompile(`Shopify customers/update .* -> delivered by the store's own webhook \(1 answered 2xx\)`),
		regexp.MustCompile(`Shopify guest checkout orders/create +-> 200 .*"created"`),
		regexp.MustCompile(`WooCommerce customer.updated .* -> delivered by the store's own webhook \(1 answered 2xx\)`),
		regexp.MustCompile(`Mailchimp profile .* -> delivered by the store's own webhook \(1 answered 2xx\)\n.*Mia-Rose`),
		regexp.MustCompile(`Klaviyo unsubscribed_from_sms_marketing +-> delivered by the store's own webhook \(1 answered 2xx\)\n.*status=unsubscribed`),
		regexp.MustCompile(`SMS reply "Yes" .*\n.*status=pending.*\n.*-> 200.*\n.*status=subscribed`),
		regexp.MustCompile(`SMS reply "STOP" .*\n.*status=subscribed.*\n.*-> 200.*\n.*status=unsubscribed`),
		regexp.MustCompile(`to \+\d+: "You have been unsubscribed`),
	} {
		if !want.MatchString(text) {
			t.Errorf("the demo's output lacks %s:\n%s", want, text)
		}
	}
}
