package seal

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// legacySeal seals the way values were sealed before key versions:
// nonce || AES-GCM(key, plaintext, additional data = tenant), no header.
func legacySeal(t *testing.T, key []byte, tenant string, plaintext []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := bytes.Repeat([]byte{9}, aead.NonceSize())
	return aead.Seal(nonce, nonce, plaintext, []byte(tenant))
}

func keyBytes(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// Sealed values used to carry no key version, so the key could not be
// rotated: a value said nothing of the key that sealed it and only one key
// was ever tried.
func TestSeal_ValuesNameTheirKeyAndOldValuesStillOpen(t *testing.T) {
	k1, k2 := keyBytes(1), keyBytes(2)
	old, err := New(k1)
	if err != nil {
		t.Fatal(err)
	}
	v1 := old.Seal("t1", []byte("one"))
	if id, ok := KeyID(v1); !ok || id != old.CurrentKeyID() || v1[0] != 0xC5 || v1[1] != 0x01 {
		t.Fatalf("sealed value %x has no envelope naming key %s", v1[:headerLen], old.CurrentKeyID())
	}
	legacy := legacySeal(t, k1, "t1", []byte("legacy"))
	if _, ok := KeyID(legacy); ok {
		t.Fatal("a legacy value reads as an envelope")
	}
	if got, err := old.Open("t1", legacy); err != nil || string(got) != "legacy" {
		t.Fatalf("legacy value with its own key: %q, %v", got, err)
	}

	// Rotation: k2 seals, k1 still opens.
	ring, err := NewKeyring(k2, k1)
	if err != nil {
		t.Fatal(err)
	}
	if ring.CurrentKeyID() == old.CurrentKeyID() {
		t.Fatal("two keys share an id")
	}
	for name, v := range map[string][]byte{"envelope by the previous key": v1, "legacy value by the previous key": legacy} {
		if _, err := ring.Open("t1", v); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !ring.NeedsReseal(v) {
			t.Errorf("%s: does not need re-sealing", name)
		}
		if _, err := ring.Open("t2", v); !errors.Is(err, ErrOpen) {
			t.Errorf("%s opened for another tenant: %v", name, err)
		}
	}
	v2 := ring.Seal("t1", []byte("two"))
	if id, _ := KeyID(v2); id != ring.CurrentKeyID() || ring.NeedsReseal(v2) {
		t.Fatalf("new value names key %s, want the current %s", id, ring.CurrentKeyID())
	}
	if _, err := old.Open("t1", v2); !errors.Is(err, ErrOpen) {
		t.Errorf("the old key alone opened a value of the new key: %v", err)
	}

	// Re-sealing moves values to the current key; then k1 can go.
	onlyNew, _ := New(k2)
	for name, v := range map[string][]byte{"envelope": v1, "legacy": legacy} {
		if _, err := onlyNew.Open("t1", v); !errors.Is(err, ErrOpen) {
			t.Errorf("%s opened without its key: %v", name, err)
		}
		re, err := ring.Reseal("t1", v)
		if err != nil {
			t.Fatal(err)
		}
		if ring.NeedsReseal(re) {
			t.Errorf("%s re-sealed still needs re-sealing", name)
		}
		if _, err := onlyNew.Open("t1", re); err != nil {
			t.Errorf("%s re-sealed does not open with the new key alone: %v", name, err)
		}
	}
	if re, _ := ring.Reseal("t1", v2); !bytes.Equal(re, v2) {
		t.Error("re-sealing a current value changed it")
	}

	// The header is authenticated: another key id or version does not open.
	for _, i := range []int{1, 2, headerLen - 1} {
		bad := bytes.Clone(v2)
		bad[i] ^= 1
		if _, err := ring.Open("t1", bad); !errors.Is(err, ErrOpen) {
			t.Errorf("header byte %d changed: %v", i, err)
		}
	}
}

func TestKeyrings_FromEnvSecretAndLoad(t *testing.T) {
	k1, k2 := base64.StdEncoding.EncodeToString(keyBytes(1)), base64.StdEncoding.EncodeToString(keyBytes(2))
	old, _ := New(keyBytes(1))
	v1 := old.Seal("t1", []byte("x"))
	getenv := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	s, err := FromEnv(getenv(map[string]string{EnvKey: k2, EnvKeyPrevious: " " + k1 + ", "}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open("t1", v1); err != nil {
		t.Errorf("env keyring does not open the previous key's value: %v", err)
	}
	if _, err := FromEnv(getenv(map[string]string{EnvKey: k2, EnvKeyPrevious: "nope!"})); err == nil {
		t.Error("a bad previous key was accepted")
	}

	pass := strings.Repeat("Zq9", 22)
	fromPass, _ := FromSecret(pass)
	vp := fromPass.Seal("t1", []byte("p"))
	ring, err := FromSecret(`{"current": "` + k2 + `", "previous": ["` + pass + `", "` + k1 + `"]}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range [][]byte{v1, vp} {
		if _, err := ring.Open("t1", v); err != nil {
			t.Errorf("secret keyring: %v", err)
		}
	}
	for _, bad := range []string{`{"current": "short"}`, `{"current": "` + k2 + `", "extra": 1}`, `{"current": "` + k2 + `", "previous": ["x"]}`, `{`} {
		if _, err := FromSecret(bad); err == nil {
			t.Errorf("keyring %s accepted", bad)
		}
	}

	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:seal"
	fetch := func(context.Context, string) (string, error) {
		return `{"current":"` + k2 + `","previous":["` + k1 + `"]}`, nil
	}
	loaded, err := Load(context.Background(), getenv(map[string]string{EnvKeySecretARN: arn}), fetch)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loaded.Open("t1", v1); err != nil {
		t.Errorf("loaded keyring: %v", err)
	}
	if _, err := Load(context.Background(), getenv(map[string]string{EnvKeySecretARN: arn, EnvKeyPrevious: k1}), fetch); err == nil {
		t.Error("a previous key in the environment beside a secret ARN was accepted")
	}
}
