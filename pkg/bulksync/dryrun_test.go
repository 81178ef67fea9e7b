package bulksync_test

import (
	"context"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
	"github.com/contactsync/contactsync/pkg/woocommerce"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// dryRunToEnd starts a dry run and waits for it to finish.
func (r *rig) dryRunToEnd(t *testing.T) store.Run {
	t.Helper()
	ctx := context.Background()
	run, err := r.starter.StartRequest(ctx, syncrun.Request{TenantID: r.tenant, ConnectionID: r.conn.ID, Trigger: store.TriggerManual, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got, err := r.st.GetRun(ctx, r.tenant, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.RunRunning {
			return got
		}
	}
	t.Fatalf("dry run %s did not finish", run.ID)
	return store.Run{}
}

// TestBulkSync_DryRunsOfDoubleOptInForetellTheRealRuns: in double opt-in
// mode, a dry install (customers and guest orders over several pages)
// counts the requests it would send, their credits (the default template:
// one part each) and the contacts that would wait for a YES, exactly as
// the real install then does; it leaves the connection's last sync alone.
// A dry re-sync after it finds everything unchanged, and after one
// customer changes, that one updated — as the real re-sync then does.
func TestBulkSync_DryRunsOfDoubleOptInForetellTheRealRuns(t *testing.T) {
	t.Parallel()
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: 150, Guests: 20, Seed: 17})
	defer shop.Close()
	r := newRig(t, shop, "double_opt_in")
	ctx := context.Background()
	same := func(what string, dry, real store.Counts) {
		t.Helper()
		if !dry.AddsUp() || dry.Credits != dry.Messages {
			t.Fatalf("%s: dry run %+v does not add up, or its credits are not one a message", what, dry)
		}
		dry.Credits = 0
		if dry != real {
			t.Fatalf("%s: dry run %+v, real run %+v", what, dry, real)
		}
	}

	dry := r.dryRunToEnd(t)
	if dry.Status != store.RunCompleted || !dry.DryRun || dry.Counts.DoubleOptInRequests == 0 || dry.Counts.PendingConfirmation == 0 {
		t.Fatalf("dry install = %s %+v (%s)", dry.Status, dry.Counts, dry.Error)
	}
	conn, err := r.st.GetConnection(ctx, r.tenant, r.conn.ID)
	if err != nil || !conn.LastSyncAt.IsZero() {
		t.Fatalf("after the dry run the connection's last sync is %v (%v)", conn.LastSyncAt, err)
	}
	if page, _, err := r.st.ListContacts(ctx, r.tenant, store.ContactFilter{Status: "pending"}, 10, ""); err != nil || len(page) != 0 {
		t.Fatalf("after the dry run: %d pending contacts (%v)", len(page), err)
	}
	install := r.runToEnd(t, store.TriggerInstall)
	same("install", dry.Counts, install.Counts)

	dry = r.dryRunToEnd(t)
	if dry.Counts.Unchanged != install.Counts.Created+install.Counts.Updated || dry.Counts.Messages != 0 {
		t.Fatalf("dry re-sync of an unchanged store = %+v", dry.Counts)
	}
	if _, ok := shop.Update(7, time.Now(), func(c *woocommerce.Customer) { c.FirstName = "Renamed" }); !ok {
		t.Fatal("no customer 7")
	}
	dry = r.dryRunToEnd(t)
	again := r.runToEnd(t, store.TriggerManual)
	same("re-sync", dry.Counts, again.Counts)
	if again.Counts.Updated != 1 {
		t.Fatalf("re-sync after one change = %+v", again.Counts)
	}
}
