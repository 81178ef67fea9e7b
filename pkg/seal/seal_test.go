package seal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestSeal_RoundTripAndTenantBinding(t *testing.T) {
	s, err := FromEnv(func(string) string { return NewKey() })
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte(`{"accessToken":"shpat_123"}`)
	sealed := s.Seal("t1", secret)
	if bytes.Contains(sealed, []byte("shpat_123")) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := s.Open("t1", sealed)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open("t2", sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("opened with another tenant: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := s.Open("t1", sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("opened a tampered value: %v", err)
	}
	if _, err := s.Open("t1", []byte("short")); !errors.Is(err, ErrOpen) {
		t.Errorf("opened garbage: %v", err)
	}
}

func TestFromEnv_RejectsMissingOrBadKey(t *testing.T) {
	for _, v := range []string{"", "not base64!", "c2hvcnQ="} {
		if _, err := FromEnv(func(string) string { return v }); err == nil {
			t.Errorf("key %q accepted", v)
		}
	}
}

func TestKeyFromSecret(t *testing.T) {
	// A base64 32-byte key (EnvKey's format) is used as it is.
	raw := bytes.Repeat([]byte{7}, 32)
	k, err := KeyFromSecret(base64.StdEncoding.EncodeToString(raw))
	if err != nil || !bytes.Equal(k, raw) {
		t.Fatalf("base64 key: %x, %v", k, err)
	}
	// A generated passphrase is derived with HKDF-SHA256; the vector pins the
	// derivation, since changing it would orphan every sealed value.
	pass := strings.Repeat("Ab3", 22) // 66 alphanumerics, like GenerateSecretString
	k, err = KeyFromSecret(pass)
	if err != nil || len(k) != 32 {
		t.Fatalf("passphrase: %x, %v", k, err)
	}
	if got := hex.EncodeToString(k); got != pinnedDerivedKey {
		t.Errorf("derived key changed: %s", got)
	}
	k2, _ := KeyFromSecret(pass + "x")
	if bytes.Equal(k, k2) {
		t.Error("different passphrases derive the same key")
	}
	// Too short to be a generated passphrase, and not a 32-byte key.
	for _, v := range []string{"", "short", base64.StdEncoding.EncodeToString([]byte("16 bytes of key!"))} {
		if _, err := KeyFromSecret(v); err == nil {
			t.Errorf("secret %q accepted", v)
		}
	}
}

// pinnedDerivedKey is HKDF-SHA256(ikm="Ab3"×22, salt=none, info="contactsync seal key v1"),
// computed independently (Python hmac, RFC 5869).
const pinnedDerivedKey = "0e6817104f33a479bc686c609b775a1266bcd609affbee33ba9a5d687e03b926"

func TestLoad_EnvKeyOrSecretARN(t *testing.T) {
	ctx := context.Background()
	key := NewKey()
	pass := strings.Repeat("Zq9", 22)
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:seal-AbCdEf"
	fetched := 0
	fetch := func(_ context.Context, id string) (string, error) {
		fetched++
		if id != arn {
			return "", fmt.Errorf("unknown secret %q", id)
		}
		return pass, nil
	}
	getenv := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	// Local runs: the base64 key, no fetch.
	local, err := Load(ctx, getenv(map[string]string{EnvKey: key}), nil)
	if err != nil {
		t.Fatal(err)
	}
	viaEnv, _ := FromEnv(getenv(map[string]string{EnvKey: key}))
	if got, err := viaEnv.Open("t1", local.Seal("t1", []byte("x"))); err != nil || string(got) != "x" {
		t.Errorf("EnvKey path differs from FromEnv: %q, %v", got, err)
	}

	// Lambda: the ARN, fetched once.
	s, err := Load(ctx, getenv(map[string]string{EnvKeySecretARN: arn}), fetch)
	if err != nil || fetched != 1 {
		t.Fatalf("Load(arn) = %v, fetched %d", err, fetched)
	}
	same, _ := FromSecret(pass)
	if got, err := same.Open("t1", s.Seal("t1", []byte("y"))); err != nil || string(got) != "y" {
		t.Errorf("secret path does not match FromSecret: %q, %v", got, err)
	}

	for name, env := range map[string]map[string]string{
		"neither": {},
		"both":    {EnvKey: key, EnvKeySecretARN: arn},
		"unknown": {EnvKeySecretARN: arn + "-other"},
	} {
		if _, err := Load(ctx, getenv(env), fetch); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Load(ctx, getenv(map[string]string{EnvKeySecretARN: arn}), nil); err == nil {
		t.Error("ARN without a fetcher: accepted")
	}
}
