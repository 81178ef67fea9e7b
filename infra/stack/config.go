package stack

import (
	"fmt"
	"net/mail"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
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
}

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
	return cfg, nil
}

// zip returns the code archive of one function.
func (c Config) zip(fn string) string { return filepath.Join(c.AssetDir, fn+".zip") }
