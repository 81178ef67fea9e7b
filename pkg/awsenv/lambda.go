package awsenv

import (
	"cmp"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Endpoint overrides, as the SDK's shared configuration reads them: one for
// every service, and one per service (which wins).
const (
	EnvEndpointURL               = "AWS_ENDPOINT_URL"
	EnvEndpointURLDynamoDB       = "AWS_ENDPOINT_URL_DYNAMODB"
	EnvEndpointURLSQS            = "AWS_ENDPOINT_URL_SQS"
	EnvEndpointURLSecretsManager = "AWS_ENDPOINT_URL_SECRETS_MANAGER"
)

// LambdaConfig is the AWS configuration of a deployed function, read from
// what Lambda puts in its environment: the region (AWS_REGION), the
// execution role's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN) and, for LocalStack or the embedded stack, the endpoint
// overrides (AWS_ENDPOINT_URL; the per-service ones are applied by
// DynamoDBEndpoint, SQSEndpoint and SecretsManagerEndpoint). With a local
// endpoint and no credentials it uses dummy ones, as sharedconfig.Load does.
//
// It does not use the SDK's shared-config loader (sharedconfig.Load): that
// loader resolves profiles, SSO, web identity and the instance metadata
// service, none of which a function has, and linking it puts the SSO,
// SSO-OIDC, sign-in and STS clients in every bootstrap (about 1.2 MiB; README,
// "Lambda footprint").
func LambdaConfig(getenv func(string) string) (aws.Config, error) {
	region := cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), DefaultRegion)
	id, secret, token := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN")
	if id == "" || secret == "" {
		if !LocalEndpoint(getenv) {
			return aws.Config{}, errors.New("no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): Lambda sets them from the function's role")
		}
		id, secret, token = "local", "local", ""
	}
	cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(id, secret, token)}
	if v := getenv(EnvEndpointURL); v != "" {
		cfg.BaseEndpoint = aws.String(v)
	}
	return cfg, nil
}

// DynamoDBEndpoint applies AWS_ENDPOINT_URL_DYNAMODB, and skips response
// checksums against a local endpoint (as NewDynamoDB does).
func DynamoDBEndpoint(getenv func(string) string) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		if v := getenv(EnvEndpointURLDynamoDB); v != "" {
			o.BaseEndpoint = aws.String(v)
		}
		o.DisableValidateResponseChecksum = LocalEndpoint(getenv)
	}
}

// SQSEndpoint applies AWS_ENDPOINT_URL_SQS.
func SQSEndpoint(getenv func(string) string) func(*sqs.Options) {
	return func(o *sqs.Options) {
		if v := getenv(EnvEndpointURLSQS); v != "" {
			o.BaseEndpoint = aws.String(v)
		}
	}
}

// SecretsManagerEndpoint applies AWS_ENDPOINT_URL_SECRETS_MANAGER.
func SecretsManagerEndpoint(getenv func(string) string) func(*secretsmanager.Options) {
	return func(o *secretsmanager.Options) {
		if v := getenv(EnvEndpointURLSecretsManager); v != "" {
			o.BaseEndpoint = aws.String(v)
		}
	}
}
