package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/klaviyo"
	"github.com/contactsync/contactsync/pkg/klaviyo/klaviyotest"
	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// gated lets a test order two workers' reads and writes of a connection.
type gated struct {
	*store.Store
	afterGet     func()
	beforeUpdate func()
	afterUpdate  func()
}

func (g gated) GetConnection(ctx context.Context, tenant, id string) (store.Connection, error) {
	c, err := g.Store.GetConnection(ctx, tenant, id)
	if g.afterGet != nil {
		g.afterGet()
	}
	return c, err
}

func (g gated) UpdateConnection(ctx context.Context, c store.Connection) (store.Connection, error) {
	if g.beforeUpdate != nil {
		g.beforeUpdate()
	}
	out, err := g.Store.UpdateConnection(ctx, c)
	if g.afterUpdate != nil {
		g.afterUpdate()
	}
	return out, err
}

func oauthConnection(t *testing.T) (*store.Store, *seal.Sealer, *klaviyotest.Server, oauth.Apps, store.Connection, map[string]string) {
	t.Helper()
	s := stacktest.New(t)
	st := store.New(s.DynamoDB, s.Table)
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	kl := klaviyotest.NewServer(klaviyotest.Options{Profiles: 1, PerSecond: -1, PerMinute: -1})
	t.Cleanup(kl.Close)
	apps := oauth.Defaults()
	apps.Klaviyo.ClientID, apps.Klaviyo.ClientSecret, apps.Klaviyo.TokenURL = klaviyotest.OAuthClientID, klaviyotest.OAuthClientSecret, kl.OAuthTokenURL()
	access, refresh := kl.OAuth().Grant()
	kl.OAuth().ExpireAccessTokens()
	cfg := map[string]string{CfgAccessToken: access, CfgRefreshToken: refresh, CfgTokenExpiry: time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), "apiBaseUrl": kl.URL()}
	raw, _ := json.Marshal(cfg)
	conn := store.Connection{TenantID: "t_oauth", ID: store.NewConnectionID("t_oauth"), Platform: "klaviyo", Label: "Klaviyo", Enabled: true,
		ConsentMode: "inferred", DefaultRegion: "AU", SyncIntervalHours: 24, Config: sealer.Seal("t_oauth", raw)}
	conn, err = st.InsertConnection(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	return st, sealer, kl, apps, conn, cfg
}

// TestKlaviyoToken_TwoWorkersRefreshingAtOnceDoNotClobber: worker 1 reads
// the connection, worker 2 reads, refreshes and stores its token, then
// worker 1 stores: its write is refused (the version moved), so the stored
// token is worker 2's, and each worker still uses a valid token.
func TestKlaviyoToken_TwoWorkersRefreshingAtOnceDoNotClobber(t *testing.T) {
	t.Parallel()
	st, sealer, kl, apps, conn, cfg := oauthConnection(t)
	ctx := context.Background()
	w1Read, w2Wrote := make(chan struct{}), make(chan struct{})
	var w1ReadOnce bool
	r1 := &Registry{Opener: sealer, AllowPrivateHosts: true, OAuth: &OAuth{Apps: apps, Sealer: sealer, Store: gated{Store: st,
		afterGet: func() {
			if !w1ReadOnce {
				w1ReadOnce = true
				close(w1Read)
			}
		},
		beforeUpdate: func() { <-w2Wrote },
	}}}
	r2 := &Registry{Opener: sealer, AllowPrivateHosts: true, OAuth: &OAuth{Apps: apps, Sealer: sealer, Store: gated{Store: st,
		afterUpdate: func() { close(w2Wrote) }}}}
	hc := http.DefaultClient
	type result struct {
		tok string
		err error
	}
	done := make(chan result, 1)
	go func() {
		tok, err := r1.token(conn, cfg, hc, klaviyo.Spec().Refresh)(ctx)
		done <- result{tok, err}
	}()
	select {
	case <-w1Read:
	case <-time.After(time.Minute):
		t.Fatal("worker 1 never read the connection")
	}
	tok2, err := r2.token(conn, cfg, hc, klaviyo.Spec().Refresh)(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(time.Minute):
		t.Fatal("worker 1 never finished")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !kl.OAuth().ValidAccess(r.tok) || !kl.OAuth().ValidAccess(tok2) || r.tok == tok2 || kl.OAuth().Refreshes() != 2 {
		t.Fatalf("tokens valid %v %v, distinct %v, refreshes %d", kl.OAuth().ValidAccess(r.tok), kl.OAuth().ValidAccess(tok2), r.tok != tok2, kl.OAuth().Refreshes())
	}
	stored, err := st.GetConnection(ctx, conn.TenantID, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	scfg, err := r2.Config(stored)
	if err != nil {
		t.Fatal(err)
	}
	if scfg[CfgAccessToken] != tok2 || stored.Version != conn.Version+1 {
		t.Fatalf("stored token is worker 1's (%v) or version %d, want worker 2's at %d", scfg[CfgAccessToken] == r.tok, stored.Version, conn.Version+1)
	}
	// A third worker finds the stored token fresh and does not refresh.
	r3 := &Registry{Opener: sealer, AllowPrivateHosts: true, OAuth: &OAuth{Apps: apps, Sealer: sealer, Store: st}}
	if tok3, err := r3.token(conn, cfg, hc, klaviyo.Spec().Refresh)(ctx); err != nil || tok3 != tok2 || kl.OAuth().Refreshes() != 2 {
		t.Fatalf("third worker: %v %v, refreshes %d", tok3 == tok2, err, kl.OAuth().Refreshes())
	}
}

// TestKlaviyoToken_RevokedMarksTheConnection: invalid_grant is permanent,
// names needs_reauthorization and marks the connection.
func TestKlaviyoToken_RevokedMarksTheConnection(t *testing.T) {
	t.Parallel()
	st, sealer, kl, apps, conn, cfg := oauthConnection(t)
	ctx := context.Background()
	kl.OAuth().RevokeRefreshTokens()
	var told []string
	r := &Registry{Opener: sealer, AllowPrivateHosts: true, OAuth: &OAuth{Apps: apps, Sealer: sealer, Store: st,
		NeedsReauthorization: func(_ context.Context, c store.Connection) { told = append(told, c.ID) }}}
	_, err := r.token(conn, cfg, http.DefaultClient, klaviyo.Spec().Refresh)(ctx)
	if !errors.Is(err, source.ErrPermanent) || !errors.Is(err, ErrNeedsReauthorization) {
		t.Fatalf("err = %v", err)
	}
	if len(told) != 1 || told[0] != conn.ID {
		t.Fatalf("told %v, want the connection once", told)
	}
	stored, err := st.GetConnection(ctx, conn.TenantID, conn.ID)
	if err != nil || stored.Status != store.StatusNeedsReauthorization {
		t.Fatalf("stored status %q (%v)", stored.Status, err)
	}
}
