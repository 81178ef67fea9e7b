package awsenv

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// TestLambdaConfig_ReadsWhatLambdaSets: the region and the role's
// credentials (session token included) come from the environment Lambda
// sets, with no endpoint override.
func TestLambdaConfig_ReadsWhatLambdaSets(t *testing.T) {
	cfg, err := LambdaConfig(env(map[string]string{"AWS_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token"}))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKID" || creds.SecretAccessKey != "secret" || creds.SessionToken != "token" {
		t.Errorf("creds = %+v, %v", creds, err)
	}
	if cfg.Region != "eu-west-2" || cfg.BaseEndpoint != nil {
		t.Errorf("region %q, endpoint %v", cfg.Region, cfg.BaseEndpoint)
	}
	if _, err := LambdaConfig(env(map[string]string{"AWS_REGION": "eu-west-2"})); err == nil {
		t.Error("no credentials and no local endpoint: want an error")
	}
}

// TestLambdaConfig_LocalEndpoints: the endpoint overrides reach each
// client, a per-service one over the general one, with dummy credentials
// and the default region when none are set (LocalStack, the embedded stack).
func TestLambdaConfig_LocalEndpoints(t *testing.T) {
	getenv := env(map[string]string{EnvEndpointURL: "http://localhost:4566", EnvEndpointURLDynamoDB: "http://127.0.0.1:8000"})
	cfg, err := LambdaConfig(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if creds, err := cfg.Credentials.Retrieve(context.Background()); err != nil || creds.AccessKeyID != "local" || cfg.Region != DefaultRegion {
		t.Errorf("creds %+v, %v; region %q", creds, err, cfg.Region)
	}
	db := dynamodb.NewFromConfig(cfg, DynamoDBEndpoint(getenv)).Options()
	if db.BaseEndpoint == nil || *db.BaseEndpoint != "http://127.0.0.1:8000" || !db.DisableValidateResponseChecksum {
		t.Errorf("dynamodb endpoint %v, checksum off %v", db.BaseEndpoint, db.DisableValidateResponseChecksum)
	}
	if q := sqs.NewFromConfig(cfg, SQSEndpoint(getenv)).Options(); q.BaseEndpoint == nil || *q.BaseEndpoint != "http://localhost:4566" {
		t.Errorf("sqs endpoint %v", q.BaseEndpoint)
	}
	sm := secretsmanager.NewFromConfig(cfg, SecretsManagerEndpoint(env(map[string]string{EnvEndpointURLSecretsManager: "http://127.0.0.1:9"}))).Options()
	if sm.BaseEndpoint == nil || *sm.BaseEndpoint != "http://127.0.0.1:9" {
		t.Errorf("secrets manager endpoint %v", sm.BaseEndpoint)
	}
}
