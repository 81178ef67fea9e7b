// Package seal encrypts connection and SMS-provider secrets before they are
// stored: AES-256-GCM with a random nonce per value and the tenant id as
// additional data, so a sealed value copied to another tenant's item does
// not open there.
//
// The 32-byte key comes from one of two settings (Load):
//   - CONTACTSYNC_SEAL_KEY: the key itself, base64. Local runs, the sandbox
//     and tests use it.
//   - CONTACTSYNC_SEAL_KEY_SECRET_ARN: a Secrets Manager secret holding the
//     key material, fetched once at cold start. The CDK stack generates the
//     secret (encrypted with its customer KMS key) and passes only the ARN,
//     so the key never appears in the template or the Lambda configuration.
//
// A missing key is an error at start-up, never a silent plaintext fallback.
package seal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// EnvKey holds the base64 key.
const EnvKey = "CONTACTSYNC_SEAL_KEY"

// EnvKeySecretARN names the Secrets Manager secret holding the key material.
const EnvKeySecretARN = "CONTACTSYNC_SEAL_KEY_SECRET_ARN"

// MinSecretLen is the shortest passphrase FromSecret derives a key from.
// The stack generates 64 alphanumeric characters (about 380 bits).
const MinSecretLen = 32

// hkdfInfo binds derived keys to this use; changing it changes every key.
const hkdfInfo = "contactsync seal key v1"

// ErrOpen: a value that does not decrypt with this key and tenant.
var ErrOpen = errors.New("seal: cannot open value")

// Sealer seals and opens values.
type Sealer struct{ aead cipher.AEAD }

// New returns a Sealer for a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("seal: key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// FromEnv builds a Sealer from getenv(EnvKey).
func FromEnv(getenv func(string) string) (*Sealer, error) {
	v := getenv(EnvKey)
	if v == "" {
		return nil, fmt.Errorf("seal: %s is not set", EnvKey)
	}
	key, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("seal: %s is not base64: %w", EnvKey, err)
	}
	return New(key)
}

// FromSecret builds a Sealer from a secret's value: either a base64 32-byte
// key (the format of EnvKey, for operators who bring their own key) or a
// passphrase of at least MinSecretLen characters, from which the key is
// derived with HKDF-SHA256 (what Secrets Manager's GenerateSecretString
// produces: it cannot emit raw random bytes). A generated alphanumeric
// passphrase is never mistaken for a base64 key: 32 bytes encode to 44
// characters ending in '='.
func FromSecret(v string) (*Sealer, error) {
	key, err := KeyFromSecret(v)
	if err != nil {
		return nil, err
	}
	return New(key)
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

// Load builds the Sealer from getenv: EnvKey (base64 key) or
// EnvKeySecretARN (fetched with fetch). Exactly one must be set, so a
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

// Seal encrypts plaintext for tenant.
func (s *Sealer) Seal(tenant string, plaintext []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	return s.aead.Seal(nonce, nonce, plaintext, []byte(tenant))
}

// Open decrypts a value sealed for tenant.
func (s *Sealer) Open(tenant string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrOpen
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(tenant))
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
