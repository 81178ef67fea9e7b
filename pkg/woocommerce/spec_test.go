package woocommerce_test

import (
	"maps"
	"testing"

	"github.com/contactsync/contactsync/pkg/woocommerce"
)

// The keys /wc-auth/v1/authorize POSTs: our state as user_id, a read-write
// key pair; anything else is named (the state is checked first, by the
// caller).
func TestKeyInstall_Keys(t *testing.T) {
	keys := woocommerce.Spec().KeyInstall.Keys
	for _, tc := range []struct {
		name, body string
		invalid    map[string]string
	}{
		{"granted", `{"key_id":1,"user_id":"st","consumer_key":"ck_1","consumer_secret":"cs_1","key_permissions":"read_write"}`, nil},
		{"no secret", `{"key_id":1,"user_id":"st","consumer_key":"ck_1","key_permissions":"read_write"}`,
			map[string]string{"consumer_key": "consumer_key and consumer_secret are required"}},
		{"read only", `{"key_id":1,"user_id":"st","consumer_key":"ck_1","consumer_secret":"cs_1","key_permissions":"read"}`,
			map[string]string{"key_permissions": "must be read_write"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := keys([]byte(tc.body))
			if err != nil || k.State != "st" || !maps.Equal(k.Invalid, tc.invalid) {
				t.Fatalf("keys = %+v, %v", k, err)
			}
		})
	}
	if _, err := keys([]byte(`{"user_id":`)); err == nil {
		t.Fatal("a body that is not JSON was read")
	}
}
