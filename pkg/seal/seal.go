// Package seal encrypts connection and SMS-provider secrets before they are
// stored: AES-256-GCM with a random nonce per value and the tenant id as
// additional data, so a sealed value copied to another tenant's item does
// not open there.
//
// The 32-byte key comes from CONTACTSYNC_SEAL_KEY (base64). In AWS the CDK
// stack provides it as a KMS-encrypted data key (envelope encryption);
// locally the sandbox generates one per run. A missing key is an error at
// start-up, never a silent plaintext fallback.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// EnvKey holds the base64 key.
const EnvKey = "CONTACTSYNC_SEAL_KEY"

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
