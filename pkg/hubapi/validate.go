package hubapi

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// Bounds of client input that ends up in a DynamoDB key or key condition
// (a sort key is at most 1,024 bytes): ids are checked by their format,
// query strings by length, before they reach the store.
const (
	// maxQueryRunes bounds q (a name or email prefix).
	maxQueryRunes = 200
	// maxFilterRunes bounds group and source filters (a group name is
	// "<label> - <name>", at most 40 + 3 + source.MaxGroupNameRunes runes).
	maxFilterRunes = 250
)

// idKinds maps a route's collection to the format of its {id}.
var idKinds = map[string]func(string) bool{
	"connections": store.ValidConnectionID,
	"contacts":    store.ValidContactID,
	"syncs":       store.ValidRunID,
}

// checkParams answers 404 for a path {id} that cannot be an id of its
// collection (too long, another alphabet, a key separator): no such
// resource can exist, and the value must not reach a key.
func checkParams(pattern string, params map[string]string) (apigw.Response, bool) {
	id, ok := params["id"]
	if !ok {
		return apigw.Response{}, true
	}
	parts := strings.Split(strings.Trim(pattern, "/"), "/")
	for i, p := range parts {
		if p != "{id}" || i == 0 {
			continue
		}
		collection := parts[i-1]
		if valid := idKinds[collection]; valid != nil && !valid(id) {
			return notFound(strings.TrimSuffix(collection, "s")), false
		}
	}
	return apigw.Response{}, true
}

// boundedText reports whether v is valid UTF-8 of at most n runes and
// store.MaxFilterBytes bytes.
func boundedText(v string, n int) bool {
	return len(v) <= store.MaxFilterBytes && utf8.ValidString(v) && utf8.RuneCountInString(v) <= n
}

// checkFilters names the contact filters that are too long to search by.
func checkFilters(q map[string]string) map[string]string {
	bad := map[string]string{}
	if !boundedText(q["q"], maxQueryRunes) {
		bad["q"] = "at most 200 characters"
	}
	for _, k := range []string{"group", "source"} {
		if !boundedText(q[k], maxFilterRunes) {
			bad[k] = "at most 250 characters"
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return bad
}

// Bounds of settings set through the Hub API, in characters (runes). They
// end up in the connection and tenant items (at most 400 KB each, a
// connection's public config stored twice: sealed and in clear), in group
// names (selected tags) and in SMS texts.
const (
	maxLabelRunes       = source.MaxLabelRunes
	maxConfigValueRunes = 2048
	maxCredentials      = 10
	maxSenderRunes      = 34  // an alphanumeric sender id is 11, a number 15, a Twilio Messaging Service SID 34
	maxCompanyRunes     = 100 // {company} in every SMS text
	maxHelpTextRunes    = 320 // two segments
	maxTemplateRunes    = 640 // four segments
)

// tooLong reports whether v is not valid UTF-8 or has more than n runes.
func tooLong(v string, n int) bool {
	return !utf8.ValidString(v) || utf8.RuneCountInString(v) > n
}

// connectionBounds names the connection settings over their limits.
func connectionBounds(c store.Connection, cfg map[string]string) map[string]string {
	bad := map[string]string{}
	if tooLong(c.Label, maxLabelRunes) {
		bad["label"] = fmt.Sprintf("at most %d characters", maxLabelRunes)
	}
	if len(c.SelectedTags) > source.MaxGroups {
		bad["selectedTags"] = fmt.Sprintf("at most %d tags", source.MaxGroups)
	}
	for _, tag := range c.SelectedTags {
		if tooLong(tag, source.MaxGroupNameRunes) {
			bad["selectedTags"] = fmt.Sprintf("each at most %d characters", source.MaxGroupNameRunes)
		}
	}
	if len(c.FieldMap) > source.MaxFields {
		bad["fieldMap"] = fmt.Sprintf("at most %d fields", source.MaxFields)
	}
	for k, v := range c.FieldMap {
		if tooLong(k, source.MaxFieldNameRunes) || tooLong(v, source.MaxFieldNameRunes) {
			bad["fieldMap"] = fmt.Sprintf("field names of at most %d characters", source.MaxFieldNameRunes)
		}
	}
	for k, v := range cfg {
		if tooLong(k, source.MaxFieldNameRunes) {
			bad["config"] = "unknown field"
		} else if tooLong(v, maxConfigValueRunes) {
			bad["config."+k] = fmt.Sprintf("at most %d characters", maxConfigValueRunes)
		}
	}
	return bad
}

// providerBounds names the SMS provider settings over their limits.
func providerBounds(p SMSProvider) map[string]string {
	bad := map[string]string{}
	for _, f := range []struct {
		name, value string
		max         int
	}{
		{"sender", p.Sender, maxSenderRunes}, {"companyName", p.CompanyName, maxCompanyRunes},
		{"helpText", p.HelpText, maxHelpTextRunes}, {"apiBaseUrl", p.APIBaseURL, maxConfigValueRunes},
		{"templates.confirmation", p.Templates.Confirmation, maxTemplateRunes},
		{"templates.doubleOptInRequest", p.Templates.DoubleOptInRequest, maxTemplateRunes},
		{"templates.optOutConfirmation", p.Templates.OptOutConfirmation, maxTemplateRunes},
		{"templates.help", p.Templates.Help, maxTemplateRunes},
		{"templates.doubleOptInReminder", p.Templates.DoubleOptInReminder, maxTemplateRunes},
	} {
		if tooLong(f.value, f.max) {
			bad[f.name] = fmt.Sprintf("at most %d characters", f.max)
		}
	}
	if len(p.Credentials) > maxCredentials {
		bad["credentials"] = fmt.Sprintf("at most %d fields", maxCredentials)
	}
	for k, v := range p.Credentials {
		if tooLong(k, source.MaxFieldNameRunes) {
			bad["credentials"] = "unknown field"
		} else if tooLong(v, maxConfigValueRunes) {
			bad["credentials."+k] = fmt.Sprintf("at most %d characters", maxConfigValueRunes)
		}
	}
	return bad
}
