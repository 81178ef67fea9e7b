// Package sharedconfig loads the aws.Config of the local programs and the
// dev harness (the sandbox, make invoke, provisioning, reseal, the tests)
// with the SDK's whole resolution chain: environment, shared config files
// and profiles, SSO, web identity, the instance metadata service. A
// deployed function does not use it: it reads what Lambda gives it with
// awsenv.LambdaConfig, and so does not link the SSO, SSO-OIDC, sign-in and
// STS clients this chain brings (README, "Lambda footprint").
package sharedconfig

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/contactsync/contactsync/pkg/awsenv"
)

// Load builds the aws.Config with the SDK's default resolution chain
// (environment, shared config, IMDS/Lambda role). For local endpoints it
// supplies a default region and static dummy credentials when none are set,
// because emulators accept any signature but the SDK insists on having one.
func Load(ctx context.Context, optFns ...func(*config.LoadOptions) error) (aws.Config, error) {
	return load(ctx, os.Getenv, optFns...)
}

func load(ctx context.Context, getenv func(string) string, optFns ...func(*config.LoadOptions) error) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if getenv("AWS_REGION") == "" && getenv("AWS_DEFAULT_REGION") == "" {
		opts = append(opts, config.WithRegion(awsenv.DefaultRegion))
	}
	if awsenv.LocalEndpoint(getenv) && getenv("AWS_ACCESS_KEY_ID") == "" && getenv("AWS_PROFILE") == "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	opts = append(opts, optFns...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS config: %w", err)
	}
	return cfg, nil
}
