package awsenv

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// DynamoDBMaxAttempts is how many times a DynamoDB call is tried.
const DynamoDBMaxAttempts = 10

// NewDynamoDB builds the DynamoDB client (optFns apply after its own). Against a local emulator it skips
// the CRC32 response check: DynamoDB Local's checksums do not match the
// bodies of some error responses, and the SDK would log a warning for each.
func NewDynamoDB(cfg aws.Config, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	local := LocalEndpoint(os.Getenv)
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		o.DisableValidateResponseChecksum = local
		// Ten attempts, as the AWS SDKs long defaulted to for DynamoDB
		// (throttling and transient errors come in bursts), rather than
		// the standard retryer's three; waits stay jittered and capped.
		o.RetryMaxAttempts = DynamoDBMaxAttempts
	}}, optFns...)...)
}

// NewSQS builds the SQS client.
func NewSQS(cfg aws.Config, optFns ...func(*sqs.Options)) *sqs.Client {
	return sqs.NewFromConfig(cfg, optFns...)
}
