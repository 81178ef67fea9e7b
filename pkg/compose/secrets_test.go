package compose_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/compose"
	"github.com/contactsync/contactsync/pkg/seal"
)

// TestLoad_SecretsAsDeployed: as deployed, a function's seal key is a
// Secrets Manager secret (CONTACTSYNC_SEAL_KEY_SECRET_ARN) read at cold
// start with the role's credentials Lambda puts in the environment
// (awsenv.LambdaConfig: the session token signed in); a function whose
// settings name no secret makes no Secrets Manager call at all.
func TestLoad_SecretsAsDeployed(t *testing.T) {
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:contactsync-seal-AbC123"
	key := seal.NewKey()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		auth := r.Header.Get("Authorization")
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || !strings.Contains(auth, "Credential=ASIAROLE/") ||
			!strings.Contains(auth, "/eu-west-1/secretsmanager/aws4_request") || r.Header.Get("X-Amz-Security-Token") != "role-session" {
			t.Errorf("request %q, authorization %q, token %q", r.Header.Get("X-Amz-Target"), auth, r.Header.Get("X-Amz-Security-Token"))
		}
		var in struct{ SecretId string }
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &in); err != nil || in.SecretId != arn {
			t.Errorf("body %q", body)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(map[string]any{"ARN": arn, "Name": "contactsync-seal", "SecretString": key})
	}))
	defer srv.Close()
	deployed := map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "ASIAROLE", "AWS_SECRET_ACCESS_KEY": "role-secret", "AWS_SESSION_TOKEN": "role-session",
		awsenv.EnvEndpointURLSecretsManager: srv.URL, awsenv.EnvTable: "contactsync", awsenv.EnvOutboxQueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/contactsync-outbox",
		awsenv.EnvPublicBaseURL: "https://hooks.example.com", seal.EnvKeySecretARN: arn,
	}
	e, err := compose.Load(context.Background(), "webhook", func(k string) string { return deployed[k] })
	if err != nil {
		t.Fatal(err)
	}
	if e.Sealer == nil || calls.Load() != 1 {
		t.Fatalf("sealer %v after %d Secrets Manager calls, want one", e.Sealer != nil, calls.Load())
	}

	delete(deployed, seal.EnvKeySecretARN)
	deployed[seal.EnvKey] = key
	if _, err := compose.Load(context.Background(), "webhook", func(k string) string { return deployed[k] }); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Errorf("a function whose settings name no secret called Secrets Manager (%d calls)", calls.Load())
	}
}
