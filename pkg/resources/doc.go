// Package resources is the single source of truth for the AWS resources
// contactsync needs: the DynamoDB table (keys, GSIs, TTL attribute), the SQS
// queues with their dead-letter queues and redrive settings, and the Lambda
// functions' timeouts that the queues' visibility timeouts derive from.
//
// Three consumers read it and must agree: the provisioning program
// (localstack/provision, used by the embedded stack, LocalStack and the
// tests), the CDK app under infra/ (its tests compare the synthesized
// template against these definitions), and the runtime configuration
// (pkg/awsenv: default names).
//
// The package is plain data: no AWS SDK, so the infra module can import it
// without pulling the SDK in.
package resources
