package store_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
)

// After a seal-key rotation, ResealAll moves every connection config and
// SMS provider setting to the current key, so the previous key can leave
// the ring; a second run finds nothing to do.
func TestResealAll_MovesEverySealedValueToTheCurrentKey(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	st := store.New(s.DynamoDB, s.Table)
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old, _ := seal.New(k1)
	ring, _ := seal.NewKeyring(k2, k1)
	onlyNew, _ := seal.New(k2)
	var conns []store.Connection
	for _, name := range []string{"Acme", "Beta"} {
		tenant, _, err := st.CreateTenant(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SetSMSProvider(ctx, tenant.ID, old.Seal(tenant.ID, []byte(`{"provider":"twilio"}`))); err != nil {
			t.Fatal(err)
		}
		conn := store.Connection{TenantID: tenant.ID, ID: store.NewConnectionID(tenant.ID), Platform: "woocommerce", Label: "WooCommerce",
			ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Enabled: true, Config: old.Seal(tenant.ID, []byte(`{"webhookSecret":"w"}`))}
		if err := st.CreateConnection(ctx, conn); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
	}
	reseal := func(tenant string, sealed []byte) ([]byte, bool, error) {
		if !ring.NeedsReseal(sealed) {
			return sealed, false, nil
		}
		out, err := ring.Reseal(tenant, sealed)
		return out, err == nil, err
	}
	counts, err := store.ResealAll(ctx, s.DynamoDB, s.Table, reseal)
	if err != nil || counts.Seen != 4 || counts.Resealed != 4 {
		t.Fatalf("ResealAll = %+v, %v; want 4 values seen and re-sealed", counts, err)
	}
	for _, c := range conns {
		got, err := st.GetConnection(ctx, c.TenantID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if plain, err := onlyNew.Open(c.TenantID, got.Config); err != nil || string(plain) != `{"webhookSecret":"w"}` {
			t.Errorf("connection config after re-sealing: %q, %v", plain, err)
		}
		tenant, err := st.GetTenant(ctx, c.TenantID)
		if err != nil {
			t.Fatal(err)
		}
		if plain, err := onlyNew.Open(c.TenantID, tenant.SMSProvider); err != nil || string(plain) != `{"provider":"twilio"}` {
			t.Errorf("SMS provider after re-sealing: %q, %v", plain, err)
		}
	}
	if counts, err := store.ResealAll(ctx, s.DynamoDB, s.Table, reseal); err != nil || counts.Seen != 4 || counts.Resealed != 0 {
		t.Fatalf("second run = %+v, %v; want nothing re-sealed", counts, err)
	}
}
