// Package awsenv builds the process's aws.Config and resource names from the
// environment, in one place.
//
// Endpoints are resolved by aws-sdk-go-v2 itself: AWS_ENDPOINT_URL points
// every client at one endpoint (LocalStack), AWS_ENDPOINT_URL_DYNAMODB and
// AWS_ENDPOINT_URL_SQS point one service each (the embedded stack). With none
// set the clients talk to AWS. No code changes between the three.
//
// A deployed function reads its configuration with LambdaConfig (what
// Lambda puts in its environment); the local programs and the dev harness
// with sharedconfig.Load (the SDK's whole resolution chain: profiles, SSO,
// ...), which stays out of the functions' bootstraps. Call either once in
// main, build the clients from the returned config and inject them;
// nothing here is a package global.
package awsenv

import (
	"cmp"
	"strings"

	"github.com/contactsync/contactsync/pkg/resources"
)

// Environment variable names.
const (
	EnvTable          = "CONTACTSYNC_TABLE"
	EnvPagesQueue     = "CONTACTSYNC_PAGES_QUEUE"
	EnvPagesQueueURL  = "CONTACTSYNC_PAGES_QUEUE_URL"
	EnvOutboxQueue    = "CONTACTSYNC_OUTBOX_QUEUE"
	EnvOutboxQueueURL = "CONTACTSYNC_OUTBOX_QUEUE_URL"
	EnvPagesDLQURL    = "CONTACTSYNC_PAGES_DLQ_URL"
	// EnvPageWindow is the bulk-sync consumer's page window per run
	// (resources.Function.PageWindow; "off": none).
	EnvPageWindow = "CONTACTSYNC_PAGE_WINDOW"

	// EnvPublicBaseURL is the URL platforms and SMS providers call; webhook
	// URLs and URL-covering signatures (Twilio) are built from it.
	EnvPublicBaseURL = "PUBLIC_BASE_URL"
	// EnvAdminToken is the bearer token of POST /admin/tenants, given
	// directly (local runs) or as the ARN of a Secrets Manager secret
	// (EnvAdminTokenSecretARN, the deployed stack). Neither set disables the
	// admin route.
	EnvAdminToken          = "HUB_ADMIN_TOKEN"
	EnvAdminTokenSecretARN = "HUB_ADMIN_TOKEN_SECRET_ARN"
)

// DefaultRegion is used when neither AWS_REGION nor a profile names one.
const DefaultRegion = "us-east-1"

// Names are the resource names and queue URLs a process uses.
type Names struct {
	Table       string
	PagesQueue  string
	OutboxQueue string
	// Queue URLs, when the environment gives them (Lambda does). Empty URLs
	// are resolved from the names with GetQueueUrl by pkg/queue.
	PagesQueueURL  string
	OutboxQueueURL string
	PagesDLQURL    string
}

// NamesFrom reads resource names with getenv (os.Getenv in main, a map in
// tests), falling back to the defaults of pkg/resources.
func NamesFrom(getenv func(string) string) Names {
	return Names{
		Table:          cmp.Or(getenv(EnvTable), resources.DefaultTableName),
		PagesQueue:     cmp.Or(getenv(EnvPagesQueue), resources.DefaultPagesQueue),
		OutboxQueue:    cmp.Or(getenv(EnvOutboxQueue), resources.DefaultOutboxQueue),
		PagesQueueURL:  getenv(EnvPagesQueueURL),
		OutboxQueueURL: getenv(EnvOutboxQueueURL),
		PagesDLQURL:    getenv(EnvPagesDLQURL),
	}
}

// LocalEndpoint reports whether getenv names a non-AWS endpoint for any
// service (AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_DYNAMODB / _SQS).
func LocalEndpoint(getenv func(string) string) bool {
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS"} {
		if getenv(k) != "" {
			return true
		}
	}
	return false
}

// EnvOAuthClientID is the variable of platform's OAuth client id
// (CONTACTSYNC_OAUTH_SHOPIFY_CLIENT_ID for "shopify"), a plain setting;
// pkg/oauth reads these (oauth.FromEnv).
func EnvOAuthClientID(platform string) string {
	return "CONTACTSYNC_OAUTH_" + strings.ToUpper(platform) + "_CLIENT_ID"
}

// EnvOAuthClientSecret is the variable of platform's OAuth client secret
// itself (local runs); deployed, EnvOAuthClientSecretARN names the Secrets
// Manager secret holding it instead, read at cold start.
func EnvOAuthClientSecret(platform string) string {
	return "CONTACTSYNC_OAUTH_" + strings.ToUpper(platform) + "_CLIENT_SECRET"
}

// EnvOAuthClientSecretARN is the variable of the ARN of the Secrets
// Manager secret holding platform's OAuth client secret.
func EnvOAuthClientSecretARN(platform string) string { return EnvOAuthClientSecret(platform) + "_ARN" }
