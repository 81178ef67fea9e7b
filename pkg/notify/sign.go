package notify

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// SecretPrefix starts every signing secret as it is shown.
const SecretPrefix = "whsec_"

// secretBytes is the signing key's length (the spec allows 24-64).
const secretBytes = 32

// NewSecret returns a new signing secret, "whsec_" + base64 of 32 random
// bytes.
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// ErrBadSecret: a secret that is not "whsec_" + base64.
var ErrBadSecret = errors.New("notify: malformed signing secret")

func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, ErrBadSecret
	}
	return key, nil
}

// Sign returns the webhook-signature header value of one attempt: "v1,"
// and the base64 HMAC-SHA256, keyed with the decoded secret, of
// "<id>.<unix seconds>.<body>".
func Sign(secret, id string, unix int64, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(unix, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}
