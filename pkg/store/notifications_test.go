package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
)

// The notification signing secret is sealed like the other secrets, so the
// seal-key rotation re-seals it too.
func TestResealAll_NotificationSecret(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old, _ := seal.New(k1)
	ring, _ := seal.NewKeyring(k2, k1)
	onlyNew, _ := seal.New(k2)
	tenant, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutNotifyEndpoint(ctx, tenant.ID, store.NotifyEndpoint{URL: "https://hub.example.com/h", Secret: old.Seal(tenant.ID, []byte("whsec_x")), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	counts, err := store.ResealAll(ctx, s.DynamoDB, s.Table, func(tenant string, sealed []byte) ([]byte, bool, error) {
		if !ring.NeedsReseal(sealed) {
			return sealed, false, nil
		}
		out, err := ring.Reseal(tenant, sealed)
		return out, err == nil, err
	})
	if err != nil || counts.Resealed != 1 {
		t.Fatalf("ResealAll = %+v, %v", counts, err)
	}
	ep, err := st.GetNotifyEndpoint(ctx, tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := onlyNew.Open(tenant.ID, ep.Secret); err != nil || string(plain) != "whsec_x" || ep.URL != "https://hub.example.com/h" {
		t.Fatalf("after re-sealing: %q %v %+v", plain, err, ep)
	}
}

// The same event stored twice is one notification with one marker, and
// only the first write says it created it.
func TestPutNotification_SameEventOnce(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	n := store.Notification{TenantID: "t_a", ID: "msg_1764920000000aaaaaaaaaaaaaaaa", Type: "sync.completed", Body: []byte(`{}`), CreatedAt: time.Now()}
	for i, want := range []bool{true, false} {
		created, err := st.PutNotification(ctx, n)
		if err != nil || created != want {
			t.Fatalf("put %d: created %v, %v; want %v", i, created, err, want)
		}
	}
	got, err := st.GetNotification(ctx, "t_a", n.ID)
	if err != nil || got.Status != store.NotificationPending || got.Attempts != 0 || string(got.Body) != `{}` {
		t.Fatalf("stored: %+v %v", got, err)
	}
	if _, status, err := st.GetOutbox(ctx, "t_a", n.ID); err != nil || status != store.OutboxPending {
		t.Fatalf("marker: %s %v", status, err)
	}
	if list, _, err := st.ListNotifications(ctx, "t_b", 10, ""); err != nil || len(list) != 0 {
		t.Fatalf("another tenant lists %+v %v", list, err)
	}
}
