package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/contactsync/contactsync/pkg/oauth"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// ErrNeedsReauthorization: the platform refused the connection's refresh
// token (invalid_grant); the connection is marked
// store.StatusNeedsReauthorization and only a new authorisation helps. Its
// text is the reason a run that met it ends with.
var ErrNeedsReauthorization = errors.New("needs_reauthorization: the platform refused the refresh token; authorise the connection again")

// OAuth is what refreshing OAuth tokens needs: the apps' token endpoints
// and the store and sealer to keep the refreshed tokens with.
type OAuth struct {
	Apps   oauth.Apps
	Store  TokenStore
	Sealer interface {
		Seal(tenant string, plaintext []byte) []byte
	}
	Now func() time.Time // nil: time.Now
	// NeedsReauthorization, when set, is told of each connection this
	// marks store.StatusNeedsReauthorization (a notification to the hub).
	NeedsReauthorization func(ctx context.Context, conn store.Connection)
}

// TokenStore reads and writes connections for token refreshes.
type TokenStore interface {
	GetConnection(ctx context.Context, tenant, id string) (store.Connection, error)
	UpdateConnection(ctx context.Context, c store.Connection) (store.Connection, error)
	MarkNeedsReauthorization(ctx context.Context, tenant, id string) error
}

// Config keys of an OAuth token in a connection's sealed config.
const (
	CfgAccessToken  = "accessToken"
	CfgRefreshToken = "refreshToken"
	CfgTokenExpiry  = "tokenExpiry" // RFC 3339; absent: does not expire
)

// refreshMargin: a token this close to its expiry is refreshed before use.
const refreshMargin = time.Minute

func tokenOf(cfg map[string]string) *oauth2.Token {
	t := &oauth2.Token{AccessToken: cfg[CfgAccessToken], RefreshToken: cfg[CfgRefreshToken]}
	t.Expiry, _ = time.Parse(time.RFC3339Nano, cfg[CfgTokenExpiry]) // absent or bad: zero, refreshed only if empty
	return t
}

// token returns the token function of conn's client (platform.Env.Token)
// for a platform whose OAuth tokens expire: the stored access token while
// it is fresh; otherwise it refreshes it through golang.org/x/oauth2
// (refresh's config of the app's token endpoint, the refresh token), seals
// the new token into the connection's config and stores it conditionally
// on the version read, so two workers refreshing at once do not clobber
// each other (the loser keeps its token for this client; the stored one is
// the winner's). invalid_grant marks the connection
// needs_reauthorization and fails the run permanently with that reason.
func (r *Registry) token(conn store.Connection, cfg map[string]string, hc *http.Client, refresh func(oauth.Apps) *oauth2.Config) func(context.Context) (string, error) {
	var mu sync.Mutex
	cur := tokenOf(cfg)
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		o := r.OAuth
		now := time.Now
		if o != nil && o.Now != nil {
			now = o.Now
		}
		fresh := func(t *oauth2.Token) bool {
			return t.AccessToken != "" && (t.Expiry.IsZero() || now().Add(refreshMargin).Before(t.Expiry))
		}
		if fresh(cur) {
			return cur.AccessToken, nil
		}
		if o == nil || cur.RefreshToken == "" {
			return "", fmt.Errorf("%w: %w", source.ErrPermanent, ErrNeedsReauthorization)
		}
		// Another worker may have refreshed it already: read what is stored.
		for attempt := 0; attempt < 2; attempt++ {
			stored, err := o.Store.GetConnection(ctx, conn.TenantID, conn.ID)
			if errors.Is(err, store.ErrNotFound) {
				return "", fmt.Errorf("%w: the connection was deleted", source.ErrPermanent)
			}
			if err != nil {
				return "", err
			}
			if stored.Status == store.StatusNeedsReauthorization {
				return "", fmt.Errorf("%w: %w", source.ErrPermanent, ErrNeedsReauthorization)
			}
			scfg, err := r.Config(stored)
			if err != nil {
				return "", err
			}
			if st := tokenOf(scfg); fresh(st) {
				cur = st
				return cur.AccessToken, nil
			}
			used := scfg[CfgRefreshToken]
			src := refresh(o.Apps).TokenSource(context.WithValue(ctx, oauth2.HTTPClient, hc), &oauth2.Token{RefreshToken: used})
			tok, err := src.Token()
			if oauth.InvalidGrant(err) {
				// Refused: unless another worker meanwhile stored a newer
				// refresh token (a rotated one), only a new authorisation helps.
				again, gerr := o.Store.GetConnection(ctx, conn.TenantID, conn.ID)
				if gerr == nil && attempt == 0 {
					if acfg, oerr := r.Config(again); oerr == nil && acfg[CfgRefreshToken] != used {
						continue
					}
				}
				if err := o.Store.MarkNeedsReauthorization(ctx, conn.TenantID, conn.ID); err != nil {
					return "", err
				}
				if o.NeedsReauthorization != nil {
					o.NeedsReauthorization(ctx, stored)
				}
				return "", fmt.Errorf("%w: %w", source.ErrPermanent, ErrNeedsReauthorization)
			}
			if err != nil {
				// The token endpoint's answer may quote itself: keep its code only.
				return "", fmt.Errorf("%s: refreshing the OAuth token: %s", conn.Platform, oauth.ErrorCode(err))
			}
			scfg[CfgAccessToken] = tok.AccessToken
			if tok.RefreshToken != "" {
				scfg[CfgRefreshToken] = tok.RefreshToken
			}
			if tok.Expiry.IsZero() {
				delete(scfg, CfgTokenExpiry)
			} else {
				scfg[CfgTokenExpiry] = tok.Expiry.UTC().Format(time.RFC3339Nano)
			}
			raw, err := json.Marshal(scfg)
			if err != nil {
				return "", err
			}
			stored.Config = o.Sealer.Seal(conn.TenantID, raw)
			if _, err := o.Store.UpdateConnection(ctx, stored); err != nil && !errors.Is(err, store.ErrConflict) {
				return "", err
			}
			// On a conflict the connection changed meanwhile (another
			// refresh, a PATCH): its stored token stays; ours is valid for
			// this client.
			cur = tok
			return cur.AccessToken, nil
		}
		return "", fmt.Errorf("%w: %w", source.ErrPermanent, ErrNeedsReauthorization)
	}
}
