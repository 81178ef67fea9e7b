package awsenv

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// NewDynamoDB builds the DynamoDB client. Against a local emulator it skips
// the CRC32 response check: DynamoDB Local's checksums do not match the
// bodies of some error responses, and the SDK would log a warning for each.
func NewDynamoDB(cfg aws.Config) *dynamodb.Client {
	local := LocalEndpoint(os.Getenv)
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.DisableValidateResponseChecksum = local
	})
}

// NewSQS builds the SQS client.
func NewSQS(cfg aws.Config) *sqs.Client { return sqs.NewFromConfig(cfg) }
