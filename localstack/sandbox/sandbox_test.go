package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestMakeSandbox drives `make sandbox` as a separate process over HTTP, the
// way a developer uses it: tenant, WooCommerce connection against a fake
// store, install run to completion, report and contact, a signed webhook and
// a signed Twilio STOP taking effect. It stops the process group at the end.
func TestMakeSandbox(t *testing.T) {
	stack := stacktest.New(t) // the embedded stack is up and AWS_ENDPOINT_URL_* point at it
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	suffix := fmt.Sprint(time.Now().UnixNano())
	t.Cleanup(func() { // the sandbox provisioned these; remove them
		ctx := context.Background()
		_, _ = stack.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("sbx-" + suffix)})
		for _, q := range []string{"sbx-p-", "sbx-p-%s-dlq", "sbx-o-", "sbx-o-%s-dlq"} {
			name := q + suffix
			if strings.Contains(q, "%s") {
				name = fmt.Sprintf(q, suffix)
			}
			if out, err := stack.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)}); err == nil {
				_, _ = stack.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
			}
		}
	})
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: 250, Guests: 10, Seed: 77})
	defer shop.Close()
	tw := twiliotest.NewServer(twiliotest.Options{})
	defer tw.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "-s", "-C", "../..", "sandbox")
	cmd.Env = append(os.Environ(), fmt.Sprintf("SANDBOX_PORT=%d", port), "HUB_ADMIN_TOKEN=test-admin", "PUBLIC_BASE_URL="+base,
		"CONTACTSYNC_TABLE=sbx-"+suffix, "CONTACTSYNC_PAGES_QUEUE=sbx-p-"+suffix, "CONTACTSYNC_OUTBOX_QUEUE=sbx-o-"+suffix,
		seal.EnvKey+"="+seal.NewKey())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // the whole group: make, go run, the sandbox
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "ready ") {
				ready <- strings.TrimPrefix(line, "ready ")
			}
		}
	}()
	select {
	case got := <-ready:
		if got != base {
			t.Fatalf("ready %s, want %s", got, base)
		}
	case <-ctx.Done():
		t.Fatalf("sandbox never printed ready: %s", stderr.String())
	}

	call := func(method, path, token string, in any) (int, map[string]any) {
		t.Helper()
		var body io.Reader
		if in != nil {
			b, _ := json.Marshal(in)
			body = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, base+path, body)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, tenant := call("POST", "/admin/tenants", "test-admin", map[string]string{"name": "Sandbox test"})
	if code != 201 {
		t.Fatalf("create tenant: %d %v", code, tenant)
	}
	key, tenantID := tenant["apiKey"].(string), tenant["tenantId"].(string)
	sid, token := tw.Credentials()
	if code, out := call("PUT", "/v1/sms-provider", key, map[string]any{"provider": "twilio", "sender": "+15005550006", "companyName": "Acme",
		"apiBaseUrl": tw.URL(), "credentials": map[string]string{"accountSid": sid, "authToken": token}}); code != 200 {
		t.Fatalf("sms provider: %d %v", code, out)
	}
	ck, cs := shop.Credentials()
	code, conn := call("POST", "/v1/connections", key, map[string]any{"platform": "woocommerce", "consentMode": "inferred", "defaultRegion": "AU",
		"config": map[string]string{"storeUrl": shop.URL(), "consumerKey": ck, "consumerSecret": cs, "webhookSecret": "whsec"}})
	if code != 201 {
		t.Fatalf("create connection: %d %v", code, conn)
	}
	syncID := conn["syncId"].(string)
	var run map[string]any
	for deadline := time.Now().Add(90 * time.Second); ; {
		_, run = call("GET", "/v1/syncs/"+syncID, key, nil)
		if run["status"] != "running" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	counts, _ := run["counts"].(map[string]any)
	if run["status"] != "completed" || counts["created"].(float64) < 200 {
		t.Fatalf("install run = %v", run)
	}
	if code, rep := call("GET", "/v1/syncs/"+syncID+"/report?outcome=created&limit=5", key, nil); code != 200 || len(rep["items"].([]any)) != 5 {
		t.Fatalf("report: %d %v", code, rep)
	}
	id := int64(10)
	for fakestore.NewPerson(77, int(id-1)).E164 == "" || strings.TrimSpace(fakestore.NewPerson(77, int(id-1)).Email) == "" {
		id++ // a customer with a valid phone and an email
	}
	cust, _ := shop.Customer(id)
	email := strings.ToLower(strings.TrimSpace(cust.Email))
	code, list := call("GET", "/v1/contacts?q="+email, key, nil)
	items, _ := list["items"].([]any)
	if code != 200 || len(items) != 1 {
		t.Fatalf("contact %s: %d %v", email, code, list)
	}
	contact := items[0].(map[string]any)
	cust.FirstName = "Renamed"
	cust.DateModifiedGMT.Time = cust.DateModifiedGMT.Add(time.Hour)
	resp, err := shop.SendWebhook(ctx, conn["webhookUrl"].(string), "whsec", "customer.updated", cust)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("webhook: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, c := call("GET", "/v1/contacts/"+contact["id"].(string), key, nil); c["firstName"] != "Renamed" {
		t.Fatalf("after webhook: %v", c)
	}
	phone, _ := contact["phone"].(string)
	if phone == "" {
		t.Fatalf("contact has no phone: %v", contact)
	}
	path := "/sms/inbound/twilio/" + tenantID
	resp, _, err = tw.SendInbound(ctx, base+path, base+path, phone, "+15005550006", "STOP", "")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("STOP: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, c := call("GET", "/v1/contacts/"+contact["id"].(string), key, nil); c["status"] != "unsubscribed" {
		t.Fatalf("after STOP: %v", c)
	}
}
