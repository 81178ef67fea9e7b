package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

type client struct {
	t    *testing.T
	base string
}

// newTenant creates a tenant through the admin API and returns its API key
// and id.
func (c client) newTenant(name string) (key, id string) {
	c.t.Helper()
	code, tenant := c.call("POST", "/admin/tenants", "test-admin", map[string]string{"name": name})
	if code != 201 {
		c.t.Fatalf("tenant: %d %v", code, tenant)
	}
	return tenant["apiKey"].(string), tenant["tenantId"].(string)
}

func (c client) call(method, path, token string, in any) (int, map[string]any) {
	c.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// waitRun waits (on the run's status, with a deadline) for a run to end.
func waitRun(t *testing.T, app *sandbox.App, tenant, runID string) store.Run {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		run, err := app.Store.GetRun(context.Background(), tenant, runID)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != store.RunRunning {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still running: %+v", runID, run)
		}
	}
}

// TestEnabledFalse_AllEntryPoints: a disabled connection's webhooks answer
// 200 without effect, "sync now" answers 409 connection_disabled, the
// scheduler starts nothing even when it is due, and re-enabling it catches
// up at the next tick with an incremental run.
func TestEnabledFalse_AllEntryPoints(t *testing.T) {
	t.Parallel()
	app := startSandbox(t)
	ctx := context.Background()
	c := client{t: t, base: app.BaseURL}
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: 20, Seed: 5})
	defer shop.Close()

	key, tenantID := c.newTenant("enabled")
	ck, cs := shop.Credentials()
	code, conn := c.call("POST", "/v1/connections", key, map[string]any{"platform": "woocommerce", "consentMode": "inferred", "defaultRegion": "AU",
		"config": map[string]string{"storeUrl": shop.URL(), "consumerKey": ck, "consumerSecret": cs, "webhookSecret": "whsec"}})
	if code != 201 {
		t.Fatalf("connection: %d %v", code, conn)
	}
	connID := conn["id"].(string)
	if run := waitRun(t, app, tenantID, conn["syncId"].(string)); run.Status != store.RunCompleted {
		t.Fatalf("install: %+v", run)
	}
	// The run's end marks the connection synced just after it completes.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := app.Store.GetConnection(ctx, tenantID, conn["id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if !c.LastSyncAt.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the install never marked the connection synced")
		}
	}
	if code, out := c.call("PATCH", "/v1/connections/"+connID, key, map[string]any{"enabled": false}); code != 200 || out["enabled"] != false {
		t.Fatalf("disable: %d %v", code, out)
	}

	// 1. Webhook: 200, no effect.
	id := int64(1)
	for fakestore.NewPerson(5, int(id-1)).E164 == "" || strings.TrimSpace(fakestore.NewPerson(5, int(id-1)).Email) == "" {
		id++
	}
	cust, _ := shop.Customer(id)
	email := strings.ToLower(strings.TrimSpace(cust.Email))
	cust.FirstName = "WhileDisabled"
	cust.DateModifiedGMT.Time = cust.DateModifiedGMT.Add(time.Hour)
	resp, err := shop.SendWebhook(ctx, conn["webhookUrl"].(string), "whsec", "customer.updated", cust)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "connection_disabled") {
		t.Fatalf("webhook to a disabled connection: %d %s", resp.StatusCode, b)
	}
	_, list := c.call("GET", "/v1/contacts?q="+email, key, nil)
	if items, _ := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["firstName"] == "WhileDisabled" {
		t.Fatalf("the disabled connection's webhook took effect: %v", list)
	}

	// 2. Sync now: 409 connection_disabled.
	code, out := c.call("POST", "/v1/connections/"+connID+"/syncs", key, nil)
	if e, _ := out["error"].(map[string]any); code != 409 || e["code"] != "connection_disabled" {
		t.Fatalf("sync now of a disabled connection: %d %v", code, out)
	}

	// 3. Scheduler: due (next sync in the past) but disabled: nothing starts.
	stored, err := app.Store.GetConnection(ctx, tenantID, connID)
	if err != nil {
		t.Fatal(err)
	}
	stored.NextSyncAt = time.Now().Add(-time.Hour)
	if _, err := app.Store.UpdateConnection(ctx, stored); err != nil {
		t.Fatal(err)
	}
	if code, sum := c.call("POST", "/_sandbox/schedule", "", nil); code != 200 || sum["started"] != 0.0 {
		t.Fatalf("tick with the connection disabled: %d %v", code, sum)
	}
	if runs, _, _ := app.Store.ListRuns(ctx, tenantID, connID, 10, ""); len(runs) != 1 {
		t.Fatalf("runs while disabled: %+v, want only the install", runs)
	}

	// Re-enabled: the next tick catches up with an incremental run.
	stored, _ = app.Store.GetConnection(ctx, tenantID, connID)
	stored.NextSyncAt = time.Now().Add(20 * time.Hour) // as if its slot were far away
	if _, err := app.Store.UpdateConnection(ctx, stored); err != nil {
		t.Fatal(err)
	}
	if code, out := c.call("PATCH", "/v1/connections/"+connID, key, map[string]any{"enabled": true}); code != 200 {
		t.Fatalf("enable: %d %v", code, out)
	}
	if code, sum := c.call("POST", "/_sandbox/schedule", "", nil); code != 200 || sum["started"] != 1.0 {
		t.Fatalf("tick after re-enabling: %d %v, want one run started", code, sum)
	}
	runs, _, err := app.Store.ListRuns(ctx, tenantID, connID, 10, "")
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs: %+v %v", runs, err)
	}
	var catchUp store.Run
	for _, r := range runs {
		if r.Trigger == store.TriggerSchedule {
			catchUp = r
		}
	}
	if !catchUp.Incremental || catchUp.Since.IsZero() {
		t.Fatalf("catch-up run = %+v, want incremental since the last sync", catchUp)
	}
	waitRun(t, app, tenantID, catchUp.ID)
}
