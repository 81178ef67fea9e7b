package oauth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Sealer seals and opens values for a tenant (pkg/seal: AES-256-GCM with
// the tenant as additional data, so a sealed value is also signed).
type Sealer interface {
	Seal(tenant string, plaintext []byte) []byte
	Open(tenant string, sealed []byte) ([]byte, error)
}

// State is what an authorisation's state parameter says: whose it is, for
// which platform, its single-use nonce (the key of the stored attempt) and
// when it expires.
type State struct {
	Tenant   string    `json:"-"`
	Nonce    string    `json:"n"`
	Platform string    `json:"p"`
	Expires  time.Time `json:"e"`
}

// Errors of ParseState.
var (
	ErrBadState = errors.New("oauth: invalid state")
)

// MaxStateLen bounds a state parameter (ours are about 200 characters).
const MaxStateLen = 512

// NewNonce returns a random single-use nonce (24 bytes, URL-safe).
func NewNonce() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// Token returns the state parameter for st: "<tenant>.<sealed payload>",
// the payload sealed with the tenant as additional data, so it cannot be
// forged, altered or moved to another tenant. The stored attempt (keyed by
// the nonce, deleted on use) makes it single-use.
func (st State) Token(s Sealer) string {
	raw, _ := json.Marshal(st) // a struct of strings and a time: cannot fail
	return st.Tenant + "." + base64.RawURLEncoding.EncodeToString(s.Seal(st.Tenant, raw))
}

// ParseState opens a state parameter. It checks the seal only: expiry and
// single use are the caller's (the stored attempt).
func ParseState(s Sealer, token string, validTenant func(string) bool) (State, error) {
	if len(token) > MaxStateLen {
		return State{}, ErrBadState
	}
	tenant, payload, ok := strings.Cut(token, ".")
	if !ok || !validTenant(tenant) {
		return State{}, ErrBadState
	}
	sealed, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return State{}, ErrBadState
	}
	raw, err := s.Open(tenant, sealed)
	if err != nil {
		return State{}, ErrBadState
	}
	var st State
	if json.Unmarshal(raw, &st) != nil || st.Nonce == "" || st.Platform == "" {
		return State{}, ErrBadState
	}
	st.Tenant = tenant
	return st, nil
}
