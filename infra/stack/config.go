package stack

import (
	"fmt"
	"net/mail"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/contactsync/contactsync/pkg/resources"
)

// Config is every deploy-time setting of the stack. Each function's
// environment is derived from it and from resources.Functions.
type Config struct {
	// AssetDir holds <function>.zip files as produced by `make build`.
	AssetDir string
	// TableName, PagesQueue and OutboxQueue name the resources
	// (defaults: resources.Default*).
	TableName   string
	PagesQueue  string
	OutboxQueue string
	// BulksyncConcurrency is the reserved concurrency of bulksync, which
	// caps parallel calls to the platforms' rate-limited APIs.
	BulksyncConcurrency int
	// ThrottleRate and ThrottleBurst are the HTTP API default-route limits.
	ThrottleRate  float64
	ThrottleBurst float64
	// PublicBaseURL is what platforms and SMS providers call (webhook URLs,
	// Twilio signatures). Empty: the HTTP API's own execute-api URL. Set it
	// when a custom domain fronts the API (context publicBaseUrl).
	PublicBaseURL string
	// AlarmEmail, when set, subscribes that address to the alarm topic
	// (context alarmEmail). AWS mails a confirmation link first.
	AlarmEmail string
	// OAuth are the platforms' OAuth apps, by platform (resources.OAuth*):
	// unset, that platform's installs answer oauth_not_configured.
	OAuth map[string]OAuthApp
}

// OAuthApp is one platform's OAuth app as deployed: its client id, a plain
// setting, and the ARN of the Secrets Manager secret holding its client
// secret, which the operator creates (aws secretsmanager create-secret)
// so the value never passes through CloudFormation. Functions read it at
// cold start; their role may GetSecretValue on exactly that ARN.
type OAuthApp struct {
	ClientID        string
	ClientSecretARN string
}

// oauthPlatforms are the platforms with an OAuth app, in context-key form.
var oauthPlatforms = map[string]string{
	resources.OAuthShopify: "Shopify", resources.OAuthMailchimp: "Mailchimp", resources.OAuthKlaviyo: "Klaviyo",
}

// ContextOAuthClientID and ContextOAuthClientSecretARN are the context
// keys of platform's OAuth app: oauthShopifyClientId and
// oauthShopifyClientSecretArn for "shopify".
func ContextOAuthClientID(platform string) string {
	return "oauth" + oauthPlatforms[platform] + "ClientId"
}

// ContextOAuthClientSecretARN: see ContextOAuthClientID.
func ContextOAuthClientSecretARN(platform string) string {
	return "oauth" + oauthPlatforms[platform] + "ClientSecretArn"
}

// secretARN is a complete Secrets Manager secret ARN (with the random
// suffix Secrets Manager adds to the name), so a grant names exactly it.
var secretARN = regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$`)

// clientID is what a platform's client id looks like (no spaces, quotes
// or anything a template could misread).
var clientID = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,200}$`)

// Context keys read by FromContext (cdk.json, or `cdk synth -c key=value`).
const (
	ContextAlarmEmail    = "alarmEmail"
	ContextPublicBaseURL = "publicBaseUrl"
)

// FromContext returns cfg with the settings given as CDK context values on
// scope's tree applied over it.
func FromContext(scope constructs.Construct, cfg Config) (Config, error) {
	str := func(key string) (string, error) {
		v := scope.Node().TryGetContext(jsii.String(key))
		if v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("context %s: want a string, got %T", key, v)
		}
		return strings.TrimSpace(s), nil
	}
	email, err := str(ContextAlarmEmail)
	if err != nil {
		return cfg, err
	}
	if email != "" {
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
			return cfg, fmt.Errorf("context %s: %q is not an email address", ContextAlarmEmail, email)
		}
		cfg.AlarmEmail = email
	}
	base, err := str(ContextPublicBaseURL)
	if err != nil {
		return cfg, err
	}
	if base != "" {
		u, err := url.Parse(base)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return cfg, fmt.Errorf("context %s: %q is not an https base URL", ContextPublicBaseURL, base)
		}
		cfg.PublicBaseURL = strings.TrimRight(base, "/")
	}
	for _, platform := range []string{resources.OAuthShopify, resources.OAuthMailchimp, resources.OAuthKlaviyo} {
		idKey, arnKey := ContextOAuthClientID(platform), ContextOAuthClientSecretARN(platform)
		id, err := str(idKey)
		if err != nil {
			return cfg, err
		}
		arn, err := str(arnKey)
		if err != nil {
			return cfg, err
		}
		switch {
		case id == "" && arn == "":
			continue
		case id == "" || arn == "":
			return cfg, fmt.Errorf("context %s and %s: set both or neither", idKey, arnKey)
		case !clientID.MatchString(id):
			return cfg, fmt.Errorf("context %s: %q is not a client id", idKey, id)
		case !secretARN.MatchString(arn):
			// Never echo it: a pasted secret value may be what is there.
			return cfg, fmt.Errorf("context %s: not the complete ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>); the secret's value never goes into the context", arnKey)
		}
		if cfg.OAuth == nil {
			cfg.OAuth = map[string]OAuthApp{}
		}
		cfg.OAuth[platform] = OAuthApp{ClientID: id, ClientSecretARN: arn}
	}
	return cfg, nil
}

// zip returns the code archive of one function.
func (c Config) zip(fn string) string { return filepath.Join(c.AssetDir, fn+".zip") }
