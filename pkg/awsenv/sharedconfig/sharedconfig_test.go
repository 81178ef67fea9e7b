package sharedconfig

import (
	"context"
	"testing"

	"github.com/contactsync/contactsync/pkg/awsenv"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad_LocalEndpointGetsRegionAndDummyCredentials(t *testing.T) {
	cfg, err := load(context.Background(), env(map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != awsenv.DefaultRegion {
		t.Errorf("region = %q", cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "local" {
		t.Errorf("creds = %+v, %v", creds, err)
	}
}
