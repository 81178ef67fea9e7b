// Package seal encrypts connection and SMS-provider secrets before they are
// stored: AES-256-GCM with a random nonce per value and the tenant id as
// additional data, so a sealed value copied to another tenant's item does
// not open there.
//
// # Keys and keyrings
//
// A Sealer holds a keyring: the current key, which seals, and any previous
// keys, which only open. The keys come from one of two settings (Load):
//   - CONTACTSYNC_SEAL_KEY: the current key, base64 (32 bytes). Local runs,
//     the sandbox and tests use it. CONTACTSYNC_SEAL_KEY_PREVIOUS may list
//     previous keys, base64, separated by commas.
//   - CONTACTSYNC_SEAL_KEY_SECRET_ARN: a Secrets Manager secret, fetched
//     once at cold start. The CDK stack generates the secret (encrypted
//     with its customer KMS key) and passes only the ARN, so no key appears
//     in the template or the Lambda configuration. Its value is either one
//     key (a base64 32-byte key, or a passphrase of at least 32 characters
//     from which the key is derived with HKDF-SHA256, which is what the
//     stack generates) or a JSON keyring
//     {"current": "<key or passphrase>", "previous": ["<key or passphrase>", ...]}.
//
// A missing key is an error at start-up, never a silent plaintext fallback.
//
// # Sealed values carry their key's id
//
// A value is sealed as a versioned envelope: the 2-byte header 0xC5 0x01,
// the 8-byte id of the key that sealed it (the first 8 bytes of
// HMAC-SHA256(key, "contactsync seal key id"), which says nothing of the
// key), the 12-byte nonce and the ciphertext with its tag. The header and
// key id are authenticated with the tenant id, so they cannot be altered.
// Open picks the key by its id. Values sealed before envelopes existed
// (nonce and ciphertext only) still open: Open tries every key of the ring
// on them. KeyID tells which key sealed a value, and NeedsReseal whether a
// value should be sealed again with the current key.
//
// # Rotating the seal key
//
// Every instance must be able to open what any other instance seals, so a
// new key is introduced in two steps, each step deployed to (and picked up
// by a cold start of) every function before the next:
//
//  1. Add the new key as a previous key: it opens, nothing seals with it
//     yet. Locally CONTACTSYNC_SEAL_KEY_PREVIOUS=<new>; deployed, put the
//     secret value {"current": "<old>", "previous": ["<new>"]}
//     (aws secretsmanager put-secret-value --secret-id <SealKeySecretArn>
//     --secret-string '...'), then make every function start cold (update
//     its configuration or deploy) so each reads the new value.
//  2. Make it current: CONTACTSYNC_SEAL_KEY=<new>,
//     CONTACTSYNC_SEAL_KEY_PREVIOUS=<old>; deployed
//     {"current": "<new>", "previous": ["<old>"]}, and start the functions
//     cold again. From now on every write (a connection created or
//     patched, an SMS provider set) seals with the new key; older values
//     keep opening with the old one.
//  3. Re-seal what is still sealed with the old key: every connection's
//     config and every tenant's SMS provider settings. `go run
//     ./localstack/reseal` does it with the step-2 settings (and
//     CONTACTSYNC_TABLE, against the endpoint the environment names, AWS
//     included): store.ResealAll with Sealer.Reseal, each write conditional
//     on the value it read; it prints how many values it re-sealed and can
//     be run again. KeyID shows which key sealed a value; values from
//     before envelopes have no id and are re-sealed too.
//  4. Only when no stored value needs the old key, remove it from the
//     previous list (step 2's settings without it). A key removed too
//     early makes the values it sealed unopenable: their connections and
//     providers fail until their secrets are entered again.
//
// Generate a key with NewKey (or `openssl rand -base64 32`). The old key
// stays secret until step 4: anyone holding it can open what it sealed.
package seal

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// EnvKey holds the current base64 key.
const EnvKey = "CONTACTSYNC_SEAL_KEY"

// EnvKeyPrevious holds previous base64 keys, comma-separated (open only).
const EnvKeyPrevious = "CONTACTSYNC_SEAL_KEY_PREVIOUS"

// EnvKeySecretARN names the Secrets Manager secret holding the key
// material (one key, or a JSON keyring).
const EnvKeySecretARN = "CONTACTSYNC_SEAL_KEY_SECRET_ARN"

// MinSecretLen is the shortest passphrase FromSecret derives a key from.
// The stack generates 64 alphanumeric characters (about 380 bits).
const MinSecretLen = 32

// hkdfInfo binds derived keys to this use; changing it changes every key.
const hkdfInfo = "contactsync seal key v1"

// keyIDLabel is what a key's id is an HMAC of.
const keyIDLabel = "contactsync seal key id"

// Envelope layout: magic, version, key id.
const (
	envelopeMagic   = 0xC5
	envelopeVersion = 0x01
	keyIDLen        = 8
	headerLen       = 2 + keyIDLen
)

// ErrOpen: a value that does not decrypt with this keyring and tenant.
var ErrOpen = errors.New("seal: cannot open value")

type key struct {
	id   [keyIDLen]byte
	aead cipher.AEAD
}

// Sealer seals with the current key and opens with any key of its ring.
type Sealer struct {
	current key
	ring    []key // current first, then previous keys in the order given
}

func newKey(k []byte) (key, error) {
	if len(k) != 32 {
		return key{}, fmt.Errorf("seal: key is %d bytes, want 32", len(k))
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return key{}, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return key{}, fmt.Errorf("seal: %w", err)
	}
	out := key{aead: aead}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(keyIDLabel))
	copy(out.id[:], m.Sum(nil))
	return out, nil
}

// New returns a Sealer for a 32-byte key.
func New(current []byte) (*Sealer, error) { return NewKeyring(current) }

// NewKeyring returns a Sealer that seals with current and opens with
// current and every previous key.
func NewKeyring(current []byte, previous ...[]byte) (*Sealer, error) {
	c, err := newKey(current)
	if err != nil {
		return nil, err
	}
	s := &Sealer{current: c, ring: []key{c}}
	for i, p := range previous {
		k, err := newKey(p)
		if err != nil {
			return nil, fmt.Errorf("previous key %d: %w", i+1, err)
		}
		if k.id == c.id {
			continue // the current key listed again
		}
		s.ring = append(s.ring, k)
	}
	return s, nil
}

// FromEnv builds a Sealer from getenv(EnvKey) and getenv(EnvKeyPrevious).
func FromEnv(getenv func(string) string) (*Sealer, error) {
	v := getenv(EnvKey)
	if v == "" {
		return nil, fmt.Errorf("seal: %s is not set", EnvKey)
	}
	current, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("seal: %s is not base64: %w", EnvKey, err)
	}
	var previous [][]byte
	for i, p := range strings.Split(getenv(EnvKeyPrevious), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(p)
		if err != nil {
			return nil, fmt.Errorf("seal: %s entry %d is not base64: %w", EnvKeyPrevious, i+1, err)
		}
		previous = append(previous, k)
	}
	return NewKeyring(current, previous...)
}

// FromSecret builds a Sealer from a secret's value: a JSON keyring
// {"current": ..., "previous": [...]}, or a single key. Each key is either
// a base64 32-byte key (the format of EnvKey, for operators who bring
// their own key) or a passphrase of at least MinSecretLen characters, from
// which the key is derived with HKDF-SHA256 (what Secrets Manager's
// GenerateSecretString produces: it cannot emit raw random bytes). A
// generated alphanumeric passphrase is never mistaken for a base64 key: 32
// bytes encode to 44 characters ending in '='; nor for a keyring, which
// starts with '{'.
func FromSecret(v string) (*Sealer, error) {
	if t := strings.TrimSpace(v); strings.HasPrefix(t, "{") {
		var ring struct {
			Current  string   `json:"current"`
			Previous []string `json:"previous"`
		}
		dec := json.NewDecoder(strings.NewReader(t))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ring); err != nil {
			return nil, errors.New("seal: the key secret starts with '{' but is not a keyring {\"current\": ..., \"previous\": [...]}")
		}
		current, err := KeyFromSecret(ring.Current)
		if err != nil {
			return nil, fmt.Errorf("seal: keyring current: %w", err)
		}
		previous := make([][]byte, 0, len(ring.Previous))
		for i, p := range ring.Previous {
			k, err := KeyFromSecret(p)
			if err != nil {
				return nil, fmt.Errorf("seal: keyring previous %d: %w", i+1, err)
			}
			previous = append(previous, k)
		}
		return NewKeyring(current, previous...)
	}
	k, err := KeyFromSecret(v)
	if err != nil {
		return nil, err
	}
	return New(k)
}

// KeyFromSecret returns the 32-byte key FromSecret uses for v.
func KeyFromSecret(v string) ([]byte, error) {
	if k, err := base64.StdEncoding.DecodeString(v); err == nil && len(k) == 32 {
		return k, nil
	}
	if len(v) < MinSecretLen {
		return nil, fmt.Errorf("seal: secret is neither a base64 32-byte key nor a passphrase of at least %d characters", MinSecretLen)
	}
	return hkdf.Key(sha256.New, []byte(v), nil, hkdfInfo, 32)
}

// SecretFetcher returns the string value of the secret id (an ARN).
type SecretFetcher func(ctx context.Context, id string) (string, error)

// Load builds the Sealer from getenv: EnvKey (base64 key, with
// EnvKeyPrevious) or EnvKeySecretARN (fetched with fetch; one key or a
// keyring). Exactly one of EnvKey and EnvKeySecretARN must be set, so a
// deployment can never silently use a different key than it was given.
func Load(ctx context.Context, getenv func(string) string, fetch SecretFetcher) (*Sealer, error) {
	key, arn := getenv(EnvKey), getenv(EnvKeySecretARN)
	switch {
	case key != "" && arn != "":
		return nil, fmt.Errorf("seal: both %s and %s are set; set one", EnvKey, EnvKeySecretARN)
	case key != "":
		return FromEnv(getenv)
	case arn == "":
		return nil, fmt.Errorf("seal: neither %s nor %s is set", EnvKey, EnvKeySecretARN)
	case getenv(EnvKeyPrevious) != "":
		return nil, fmt.Errorf("seal: %s goes with %s; with %s put a keyring in the secret", EnvKeyPrevious, EnvKey, EnvKeySecretARN)
	case fetch == nil:
		return nil, fmt.Errorf("seal: %s is set but no secret fetcher was given", EnvKeySecretARN)
	}
	v, err := fetch(ctx, arn)
	if err != nil {
		return nil, fmt.Errorf("seal: reading the key secret: %w", err)
	}
	return FromSecret(v)
}

// NewKey returns a fresh random key, base64-encoded for EnvKey.
func NewKey() string {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails
	return base64.StdEncoding.EncodeToString(k)
}

// CurrentKeyID is the id of the key that seals, in hex.
func (s *Sealer) CurrentKeyID() string { return hex.EncodeToString(s.current.id[:]) }

func header(id [keyIDLen]byte) []byte {
	return append([]byte{envelopeMagic, envelopeVersion}, id[:]...)
}

func aad(hdr []byte, tenant string) []byte {
	return append(append(make([]byte, 0, len(hdr)+len(tenant)), hdr...), tenant...)
}

// Seal encrypts plaintext for tenant with the current key, in a versioned
// envelope that names the key.
func (s *Sealer) Seal(tenant string, plaintext []byte) []byte {
	hdr := header(s.current.id)
	n := s.current.aead.NonceSize()
	out := make([]byte, headerLen+n, headerLen+n+len(plaintext)+s.current.aead.Overhead())
	copy(out, hdr)
	_, _ = rand.Read(out[headerLen:]) // crypto/rand.Read never fails
	return s.current.aead.Seal(out, out[headerLen:], plaintext, aad(hdr, tenant))
}

// Open decrypts a value sealed for tenant by any key of the ring: an
// envelope by the key it names, an unversioned value (sealed before
// envelopes) by whichever key opens it.
func (s *Sealer) Open(tenant string, sealed []byte) ([]byte, error) {
	if k, ok := s.envelopeKey(sealed); ok {
		n := k.aead.NonceSize()
		if len(sealed) >= headerLen+n+k.aead.Overhead() {
			if out, err := k.aead.Open(nil, sealed[headerLen:headerLen+n], sealed[headerLen+n:], aad(sealed[:headerLen], tenant)); err == nil {
				return out, nil
			}
		}
		// An unversioned value can start with the header bytes by chance
		// (2^-16 of them, then 2^-64 for a key id): try it as one below.
	}
	for _, k := range s.ring {
		n := k.aead.NonceSize()
		if len(sealed) < n+k.aead.Overhead() {
			continue
		}
		if out, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(tenant)); err == nil {
			return out, nil
		}
	}
	return nil, ErrOpen
}

// envelopeKey returns the ring's key an envelope names.
func (s *Sealer) envelopeKey(sealed []byte) (key, bool) {
	if len(sealed) < headerLen || sealed[0] != envelopeMagic || sealed[1] != envelopeVersion {
		return key{}, false
	}
	for _, k := range s.ring {
		if bytes.Equal(k.id[:], sealed[2:headerLen]) {
			return k, true
		}
	}
	return key{}, false
}

// KeyID returns the hex id of the key a value names in its envelope, or
// false for a value with no envelope (sealed before key versions).
func KeyID(sealed []byte) (string, bool) {
	if len(sealed) < headerLen || sealed[0] != envelopeMagic || sealed[1] != envelopeVersion {
		return "", false
	}
	return hex.EncodeToString(sealed[2:headerLen]), true
}

// NeedsReseal reports whether a value is not sealed by the current key in
// an envelope (a previous key's value, or one from before envelopes).
func (s *Sealer) NeedsReseal(sealed []byte) bool {
	id, ok := KeyID(sealed)
	return !ok || id != s.CurrentKeyID()
}

// Reseal opens a value sealed for tenant and seals it again with the
// current key (a value already sealed by it is returned as it is).
func (s *Sealer) Reseal(tenant string, sealed []byte) ([]byte, error) {
	plain, err := s.Open(tenant, sealed)
	if err != nil {
		return nil, err
	}
	if !s.NeedsReseal(sealed) {
		return sealed, nil
	}
	return s.Seal(tenant, plain), nil
}
