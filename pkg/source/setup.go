package source

import (
	"context"
	"regexp"
	"strings"
	"unicode"
)

// CredentialChecker is implemented by connectors that can check a
// connection's credentials with one cheap call to the platform, before
// anything is stored (issue 17: a rejected key is a clear answer at
// create time, not a failed install sync later).
//
// CheckCredentials returns nil when the platform accepted them, a
// *CredentialsRejectedError when it refused them (or the store, account
// or audience they name), and a *PlatformError when it could not tell
// (unreachable host, 5xx, an answer that is not the platform's).
type CredentialChecker interface {
	CheckCredentials(ctx context.Context) error
}

// CredentialsRejectedError: the platform refused the credentials. Reason
// is the platform's own words, made safe by SafeReason.
type CredentialsRejectedError struct{ Reason string }

func (e *CredentialsRejectedError) Error() string { return "credentials rejected: " + e.Reason }

// PlatformError: the platform could not be reached, or answered with a
// failure that says nothing about the credentials. Reason is safe to show
// (SafeReason).
type PlatformError struct{ Reason string }

func (e *PlatformError) Error() string { return "platform error: " + e.Reason }

// OptionLister is implemented by connectors that can list what the
// install wizard offers for a connection (GET
// /v1/connections/{id}/options): audiences, tags, segments, lists, roles,
// meta keys. Fields come from FieldLister, not from here.
type OptionLister interface {
	InstallOptions(ctx context.Context) (InstallOptions, error)
}

// MaxOptions caps each list of install options; a longer one is cut and
// marked Truncated.
const MaxOptions = 1000

// MaxOptionNameRunes bounds an option's name and id (cut).
const MaxOptionNameRunes = 200

// Choice is one option the wizard offers.
type Choice struct {
	// ID is the platform's id where it has one (a Mailchimp audience or
	// segment id, a Klaviyo list id, a Shopify segment gid); tags, roles
	// and meta keys are named only.
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	// Count is the platform's own count (members, customers) where it
	// gives one; nil where it gives none.
	Count *int `json:"count,omitempty"`
}

// Choices is one bounded list of options.
type Choices struct {
	Items     []Choice `json:"items"`
	Truncated bool     `json:"truncated"`
}

// Add appends ch (name and id bounded) unless the list is full, in which
// case it marks the list Truncated and reports false.
func (c *Choices) Add(ch Choice) bool {
	if len(c.Items) >= MaxOptions {
		c.Truncated = true
		return false
	}
	ch.Name, _ = bound(strings.TrimSpace(ch.Name), MaxOptionNameRunes)
	ch.ID, _ = bound(ch.ID, MaxOptionNameRunes)
	c.Items = append(c.Items, ch)
	return true
}

// Full reports whether the list holds MaxOptions items.
func (c *Choices) Full() bool { return len(c.Items) >= MaxOptions }

// NewChoices returns an empty list (items [] in JSON, not null).
func NewChoices() *Choices { return &Choices{Items: []Choice{}} }

// Count returns a pointer to n, for Choice.Count.
func Count(n int) *int { return &n }

// InstallOptions is what the install wizard offers for one connection;
// a platform fills the lists it has.
type InstallOptions struct {
	// Audiences: Mailchimp audiences (lists), with member counts.
	Audiences *Choices `json:"audiences,omitempty"`
	// Tags: Mailchimp tags (static segments, with member counts) and
	// Shopify customer tags.
	Tags *Choices `json:"tags,omitempty"`
	// Segments: Mailchimp saved segments (with member counts), Klaviyo
	// segments and Shopify customer segments.
	Segments *Choices `json:"segments,omitempty"`
	// Lists: Klaviyo lists.
	Lists *Choices `json:"lists,omitempty"`
	// Roles: WooCommerce customer roles seen in a sample of customers
	// (counted within the sample); a role other than "customer" becomes a
	// group.
	Roles *Choices `json:"roles,omitempty"`
	// MetaKeys: WooCommerce customer meta keys seen in the sample, for
	// smsConsentMetaKey and groupsMetaKey.
	MetaKeys *Choices `json:"metaKeys,omitempty"`
	// Sampled is how many customers the sample read (WooCommerce).
	Sampled int `json:"sampled,omitempty"`
	// Fields are the connector's fields (source.FieldLister), when it
	// lists them.
	Fields []Field `json:"fields,omitempty"`
}

// MaxReasonRunes bounds a platform's reason shown to API callers.
const MaxReasonRunes = 200

// secretLooking matches tokens that may be keys: known key prefixes, or
// long runs of key characters (redacted when letters and digits mix).
var (
	keyPrefix     = regexp.MustCompile(`(?i)^(?:shpat_|shpca_|shppa_|shpss_|ck_|cs_|pk_|sk_|whsec)`)
	secretLooking = regexp.MustCompile(`(?i)\b(?:shpat_|shpca_|shppa_|shpss_|ck_|cs_|pk_|sk_|whsec)[A-Za-z0-9_\-]*|[A-Za-z0-9_\-+/=]{24,}`)
)

// SafeReason makes a platform's error text fit to show an API caller: the
// given secrets are removed wherever they appear, as is anything that
// looks like a key or token, control characters become spaces, and the
// result is at most MaxReasonRunes runes.
func SafeReason(reason string, secrets ...string) string {
	for _, s := range secrets {
		if s = strings.TrimSpace(s); len(s) >= 4 {
			reason = strings.ReplaceAll(reason, s, "[redacted]")
		}
	}
	reason = secretLooking.ReplaceAllStringFunc(reason, func(tok string) string {
		if keyPrefix.MatchString(tok) || (strings.ContainsAny(tok, "0123456789") && strings.IndexFunc(tok, unicode.IsLetter) >= 0) {
			return "[redacted]"
		}
		return tok // a long word ("woocommerce_rest_cannot_view"), not a key
	})
	reason = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(reason, " "))
	reason = strings.Join(strings.Fields(reason), " ")
	reason, _ = bound(reason, MaxReasonRunes)
	return reason
}
