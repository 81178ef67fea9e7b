package awsenv

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

const testARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:contactsync-seal-AbCdEf"

// fakeSecretsManager speaks just enough of the Secrets Manager JSON 1.1
// protocol for GetSecretValue: one known secret, ResourceNotFoundException
// for any other id.
func fakeSecretsManager(t *testing.T, value string) (*httptest.Server, *int) {
	t.Helper()
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
			t.Errorf("unexpected request %s %s target %q", r.Method, r.URL, r.Header.Get("X-Amz-Target"))
		}
		if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, "/us-east-1/secretsmanager/aws4_request") {
			t.Errorf("request not SigV4-signed for secretsmanager: %q", auth)
		}
		body, _ := io.ReadAll(r.Body)
		var in struct{ SecretId string }
		if err := json.Unmarshal(body, &in); err != nil {
			t.Errorf("body %q: %v", body, err)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if in.SecretId != testARN {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"ARN": testARN, "Name": "contactsync-seal", "SecretString": value,
			"VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
		})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func testSecretsClient(url string) *secretsmanager.Client {
	return NewSecretsManager(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	}, func(o *secretsmanager.Options) {
		o.BaseEndpoint = aws.String(url)
		o.RetryMaxAttempts = 1
	})
}

func TestSecretFetcher_GetSecretValue(t *testing.T) {
	srv, calls := fakeSecretsManager(t, "s3cret-value")
	fetch := SecretFetcher(testSecretsClient(srv.URL))
	ctx := context.Background()

	v, err := fetch(ctx, testARN)
	if err != nil || v != "s3cret-value" || *calls != 1 {
		t.Fatalf("fetch = %q, %v (calls %d)", v, err, *calls)
	}
	_, err = fetch(ctx, testARN+"-other")
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown secret: %v, want ResourceNotFoundException", err)
	}
}

func TestSecretSetting(t *testing.T) {
	srv, calls := fakeSecretsManager(t, "admin-token-from-secret")
	fetch := SecretFetcher(testSecretsClient(srv.URL))
	ctx := context.Background()

	// Local runs: the value itself, no call.
	v, err := SecretSetting(ctx, env(map[string]string{EnvAdminToken: "local"}), fetch, EnvAdminToken, EnvAdminTokenSecretARN)
	if err != nil || v != "local" || *calls != 0 {
		t.Errorf("direct = %q, %v (calls %d)", v, err, *calls)
	}
	// Deployed: the ARN.
	v, err = SecretSetting(ctx, env(map[string]string{EnvAdminTokenSecretARN: testARN}), fetch, EnvAdminToken, EnvAdminTokenSecretARN)
	if err != nil || v != "admin-token-from-secret" || *calls != 1 {
		t.Errorf("secret = %q, %v (calls %d)", v, err, *calls)
	}
	// Neither: empty (the admin route stays disabled).
	if v, err := SecretSetting(ctx, env(nil), fetch, EnvAdminToken, EnvAdminTokenSecretARN); err != nil || v != "" {
		t.Errorf("unset = %q, %v", v, err)
	}
	for name, m := range map[string]map[string]string{
		"both":    {EnvAdminToken: "x", EnvAdminTokenSecretARN: testARN},
		"unknown": {EnvAdminTokenSecretARN: testARN + "-other"},
	} {
		if _, err := SecretSetting(ctx, env(m), fetch, EnvAdminToken, EnvAdminTokenSecretARN); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := SecretSetting(ctx, env(map[string]string{EnvAdminTokenSecretARN: testARN}), nil, EnvAdminToken, EnvAdminTokenSecretARN); err == nil {
		t.Error("ARN without a fetcher: accepted")
	}
}

func TestSecretSetting_EmptySecretIsAnError(t *testing.T) {
	srv, _ := fakeSecretsManager(t, "")
	fetch := SecretFetcher(testSecretsClient(srv.URL))
	if _, err := SecretSetting(context.Background(), env(map[string]string{EnvAdminTokenSecretARN: testARN}), fetch, EnvAdminToken, EnvAdminTokenSecretARN); err == nil {
		t.Error("empty secret accepted")
	}
}
