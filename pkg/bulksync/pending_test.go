package bulksync_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/email"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/phone"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// TestBulkSync_DoubleOptInReportCountsPendingConfirmation: an install in
// double opt-in mode reports every created contact with a number as
// pending_confirmation (informational: they are created too, and the run
// adds up), in the counts and on their report rows, as the Hub API shows
// the sync; a re-sync counts none (nothing was created or updated).
func TestBulkSync_DoubleOptInReportCountsPendingConfirmation(t *testing.T) {
	t.Parallel()
	const customers = 60
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: customers, Seed: 11})
	defer shop.Close()
	r := newRig(t, shop, "double_opt_in")
	withPhone := map[string]bool{}
	for i := range customers {
		p := fakestore.NewPerson(11, i)
		ph, _ := phone.Normalize(p.Phone, p.Country, "AU")
		em, _ := email.Normalize(p.Email)
		if ph != "" {
			withPhone[ph+"|"+em] = true
		}
	}
	if len(withPhone) == 0 {
		t.Fatal("the fake store holds no valid number")
	}
	run := r.runToEnd(t, store.TriggerInstall)
	api := hubapi.New(hubapi.Deps{Store: r.st, AdminToken: "admin"})
	get := func(path string, q map[string]string) map[string]any {
		t.Helper()
		resp, err := api.Handle(context.Background(), apigw.Request{RawPath: path, QueryStringParameters: q, Headers: map[string]string{"authorization": "Bearer " + r.key},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path}}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %d %s", path, err, resp.StatusCode, resp.Body)
		}
		var out map[string]any
		if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	c := run.Counts
	if run.Status != store.RunCompleted || !c.AddsUp() || c.PendingConfirmation != len(withPhone) || c.PendingConfirmation > c.Created {
		t.Fatalf("install run = %s %+v, want %d pending_confirmation among the created", run.Status, c, len(withPhone))
	}
	sync := get("/v1/syncs/"+run.ID, nil)
	if got := sync["counts"].(map[string]any)["pending_confirmation"]; got != float64(len(withPhone)) {
		t.Fatalf("GET /v1/syncs/{id} counts = %v, want pending_confirmation %d", sync["counts"], len(withPhone))
	}
	rows, pendingRows := 0, 0
	for q := map[string]string{"limit": "100"}; ; {
		rep := get("/v1/syncs/"+run.ID+"/report", q)
		for _, it := range rep["items"].([]any) {
			rows++
			if it.(map[string]any)["consent"] == "pending_confirmation" {
				pendingRows++
			}
		}
		next, _ := rep["nextCursor"].(string)
		if next == "" {
			break
		}
		q = map[string]string{"limit": "100", "cursor": next}
	}
	if pendingRows != len(withPhone) {
		t.Fatalf("report rows: %d of %d say pending_confirmation, want %d", pendingRows, rows, len(withPhone))
	}
	// The re-sync creates and updates nothing: nothing to count.
	again := r.runToEnd(t, store.TriggerManual)
	if again.Status != store.RunCompleted || again.Counts.PendingConfirmation != 0 || again.Counts.Unchanged != c.Created+c.Updated {
		t.Fatalf("re-sync = %s %+v", again.Status, again.Counts)
	}
}
