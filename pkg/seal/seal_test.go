package seal

import (
	"bytes"
	"errors"
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
