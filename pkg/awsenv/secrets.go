package awsenv

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretsAPI is the one Secrets Manager call the functions make.
type SecretsAPI interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// NewSecretsManager builds the Secrets Manager client.
func NewSecretsManager(cfg aws.Config, optFns ...func(*secretsmanager.Options)) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(cfg, optFns...)
}

// SecretFetcher returns a function that reads a secret's string value (the
// AWSCURRENT version) by id or ARN. Its signature matches seal.SecretFetcher.
// Functions call it once at cold start; the value stays in memory.
func SecretFetcher(api SecretsAPI) func(ctx context.Context, id string) (string, error) {
	return func(ctx context.Context, id string) (string, error) {
		out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			return "", fmt.Errorf("reading secret %s: %w", id, err)
		}
		if out.SecretString == nil {
			return "", fmt.Errorf("secret %s has no string value", id)
		}
		return *out.SecretString, nil
	}
}

// SecretSetting reads a setting given either directly in env (local runs)
// or as the ARN of a secret in arnEnv (the deployed stack), fetched with
// fetch. Both set is an error; neither set returns "".
func SecretSetting(ctx context.Context, getenv func(string) string, fetch func(context.Context, string) (string, error), env, arnEnv string) (string, error) {
	v, arn := getenv(env), getenv(arnEnv)
	switch {
	case v != "" && arn != "":
		return "", fmt.Errorf("both %s and %s are set; set one", env, arnEnv)
	case arn == "":
		return v, nil
	case fetch == nil:
		return "", errors.New(arnEnv + " is set but no secret fetcher was given")
	}
	v, err := fetch(ctx, arn)
	if err != nil {
		return "", err
	}
	if v == "" {
		return "", fmt.Errorf("the secret in %s is empty", arnEnv)
	}
	return v, nil
}
