package hubapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// edgeFixture is a tenant with two connections, a finished-looking run and
// three contacts in two groups, so every listing has a second page.
type edgeFixture struct {
	a                *api
	key, otherKey    string
	tenant, otherTen string
	connID, syncID   string
	contactID        string
	// cursors issued by each listing (limit=1), by name.
	cursors map[string]string
}

func newEdgeFixture(t testing.TB, a *api) *edgeFixture {
	t.Helper()
	f := &edgeFixture{a: a, key: a.tenant(), otherKey: a.tenant(), cursors: map[string]string{}}
	f.tenant = strings.SplitN(f.key, ".", 2)[0]
	f.otherTen = strings.SplitN(f.otherKey, ".", 2)[0]
	_, conn := a.do("POST", "/v1/connections", f.key, shopifyConn, nil)
	f.connID, f.syncID = conn["id"].(string), conn["syncId"].(string)
	a.do("POST", "/v1/connections", f.key, strings.Replace(shopifyConn, "acme", "beta", 1), nil)
	for _, k := range []string{f.key, f.otherKey} {
		ten := strings.SplitN(k, ".", 2)[0]
		for i, name := range []string{"Ann", "Anna", "Bob"} {
			applied, err := a.st.ApplyRecord(context.Background(),
				store.Target{TenantID: ten, Conn: merge.Connection{ID: f.connID, Label: "Shopify", Mode: consent.Inferred, DefaultRegion: "AU"}},
				source.Record{Platform: source.Shopify, Label: "Shopify", ConnectionID: f.connID, ExternalID: fmt.Sprint(i + 1), UpdatedAt: time.Now(),
					FirstName: name, Emails: []string{strings.ToLower(name) + "@example.com"}, Phones: []source.PhoneField{{Raw: fmt.Sprintf("0412 345 67%d", i)}},
					HasGroups: true, Groups: []string{"VIP", "G" + fmt.Sprint(i)}}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if k == f.key && i == 0 {
				f.contactID = applied.Decision.ContactID
			}
		}
	}
	for name, l := range map[string]struct {
		path  string
		query map[string]string
	}{
		"connections": {"/v1/connections", nil},
		"contacts":    {"/v1/contacts", nil},
		"contacts_q":  {"/v1/contacts", map[string]string{"q": "ann"}},
		"group":       {"/v1/contacts", map[string]string{"group": "Shopify - VIP"}},
		"groups":      {"/v1/groups", nil},
	} {
		q := map[string]string{"limit": "1"}
		for k, v := range l.query {
			q[k] = v
		}
		code, out := a.do("GET", l.path, f.key, "", q)
		next, _ := out["nextCursor"].(string)
		if code != 200 || next == "" {
			t.Fatalf("%s: %d %v, want a page with a nextCursor", name, code, out)
		}
		f.cursors[name] = next
	}
	return f
}

func cursorOf(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }

// TestAPI_InputBeyondKeyLimitsIs4xx: ids, query strings, tokens and cursors
// that cannot be (or must not become) DynamoDB keys answer 400, 401 or 404
// with the usual error body, never 500 (issue 15, item 8).
func TestAPI_InputBeyondKeyLimitsIs4xx(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	f := newEdgeFixture(t, a)
	long := strings.Repeat("x", 2000)
	longConn := f.tenant + ".c_" + strings.Repeat("a", 2000)
	otherConn := f.otherTen + ".c_0123456789abcdef0123"
	type tc struct {
		name, method, path, token, body string
		query                           map[string]string
		want                            int
	}
	cases := []tc{
		{"3000-char bearer token", "GET", "/v1/connections", strings.Repeat("a", 3000), "", nil, 401},
		{"3000-char bearer token with a tenant", "GET", "/v1/connections", "t_" + strings.Repeat("a", 3000) + ".secret", "", nil, 401},
		{"bearer token with a 3000-char secret", "GET", "/v1/connections", f.tenant + "." + strings.Repeat("s", 3000), "", nil, 401},
		{"1100-byte q", "GET", "/v1/contacts", f.key, "", map[string]string{"q": strings.Repeat("a", 1100)}, 400},
		{"1100-byte email q", "GET", "/v1/contacts", f.key, "", map[string]string{"q": strings.Repeat("a", 1100) + "@example.com"}, 400},
		{"1100-byte q in an export", "GET", "/v1/contacts/export", f.key, "", map[string]string{"q": strings.Repeat("é", 550)}, 400},
		{"2000-char group", "GET", "/v1/contacts", f.key, "", map[string]string{"group": long}, 400},
		{"2000-char source", "GET", "/v1/contacts", f.key, "", map[string]string{"source": long}, 400},
		{"2000-char connectionId filter", "GET", "/v1/syncs", f.key, "", map[string]string{"connectionId": longConn}, 400},
		{"malformed connectionId filter", "GET", "/v1/syncs", f.key, "", map[string]string{"connectionId": "T#x#y"}, 400},
		{"2000-char connection id", "GET", "/v1/connections/" + longConn, f.key, "", nil, 404},
		{"2000-char bare connection id", "GET", "/v1/connections/" + long, f.key, "", nil, 404},
		{"2000-char connection id, patch", "PATCH", "/v1/connections/" + longConn, f.key, `{"label":"x"}`, nil, 404},
		{"2000-char connection id, delete", "DELETE", "/v1/connections/" + longConn, f.key, "", nil, 404},
		{"2000-char connection id, sync now", "POST", "/v1/connections/" + longConn + "/syncs", f.key, "", nil, 404},
		{"another tenant's connection id", "GET", "/v1/connections/" + otherConn, f.key, "", nil, 404},
		{"2000-char contact id", "GET", "/v1/contacts/c_" + long, f.key, "", nil, 404},
		{"2000-char contact id, delete", "DELETE", "/v1/contacts/" + long, f.key, "", nil, 404},
		{"2000-char contact id, subscription", "PUT", "/v1/contacts/" + long + "/subscription", f.key, `{"status":"unsubscribed"}`, nil, 404},
		{"2000-char contact id, history", "GET", "/v1/contacts/" + long + "/history", f.key, "", nil, 404},
		{"2000-char sync id", "GET", "/v1/syncs/r" + long, f.key, "", nil, 404},
		{"2000-char sync id, report", "GET", "/v1/syncs/" + long + "/report", f.key, "", nil, 404},
		{"contact id with a key separator", "GET", "/v1/contacts/c_1%23CONTACT", f.key, "", nil, 404},
	}
	// Tampered cursors: valid base64 whose content is not a cursor this
	// tenant got from this listing.
	other := func(c string) string {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil {
			t.Fatal(err)
		}
		return cursorOf(strings.ReplaceAll(string(b), f.tenant, f.otherTen))
	}
	for name, c := range map[string]string{
		"not base64":               "%%%",
		"not JSON":                 cursorOf("hello"),
		"wrong types":              cursorOf(`{"k":{"PK":5,"SK":true}}`),
		"key not an object":        cursorOf(`{"k":"PK"}`),
		"offset not a number":      cursorOf(`{"o":"1"}`),
		"negative offset":          cursorOf(`{"o":-1}`),
		"empty object":             cursorOf(`{}`),
		"wrong key names":          cursorOf(`{"k":{"id":"1","name":"x"}}`),
		"missing sort key":         cursorOf(`{"k":{"PK":"T#` + f.tenant + `"}}`),
		"extra key":                cursorOf(`{"k":{"PK":"T#` + f.tenant + `","SK":"CONN#x","GSI1PK":"x"}}`),
		"other tenant's key":       cursorOf(`{"k":{"PK":"T#` + f.otherTen + `","SK":"CONN#` + otherConn + `"}}`),
		"other listing's position": cursorOf(`{"k":{"PK":"T#` + f.tenant + `","SK":"GROUP#Shopify - VIP"}}`),
		"2000-char sort key":       cursorOf(`{"k":{"PK":"T#` + f.tenant + `","SK":"CONN#` + long + `"}}`),
		"other partition":          cursorOf(`{"k":{"PK":"T#` + f.tenant + `#C#c_1","SK":"CONN#x"}}`),
		"groups cursor":            f.cursors["groups"],
		"contacts cursor":          f.cursors["contacts"],
		"other tenant's cursor":    other(f.cursors["connections"]),
		"3000-char cursor":         strings.Repeat("A", 3000),
	} {
		cases = append(cases, tc{"connections cursor: " + name, "GET", "/v1/connections", f.key, "", map[string]string{"cursor": c}, 400})
	}
	for name, c := range map[string]string{
		"connections cursor":                f.cursors["connections"],
		"group cursor":                      f.cursors["group"],
		"contacts cursor of another prefix": f.cursors["contacts_q"],
		"wrong index key names":             cursorOf(`{"k":{"PK":"x","SK":"y","GSI2PK":"z","GSI2SK":"w"}}`),
		"index key of another tenant":       cursorOf(`{"k":{"PK":"T#` + f.otherTen + `#C#c_1","SK":"CONTACT","GSI1PK":"T#` + f.otherTen + `#CONTACTS","GSI1SK":"ann#c_1"}}`),
		"table key of another tenant":       cursorOf(`{"k":{"PK":"T#` + f.otherTen + `#C#c_1","SK":"CONTACT","GSI1PK":"T#` + f.tenant + `#CONTACTS","GSI1SK":"ann#c_1"}}`),
		"index key not a contact":           cursorOf(`{"k":{"PK":"T#` + f.tenant + `","SK":"CONN#x","GSI1PK":"T#` + f.tenant + `#CONTACTS","GSI1SK":"ann#c_1"}}`),
		"2000-char index sort key":          cursorOf(`{"k":{"PK":"T#` + f.tenant + `#C#c_1","SK":"CONTACT","GSI1PK":"T#` + f.tenant + `#CONTACTS","GSI1SK":"` + long + `"}}`),
		"other tenant's contacts cursor":    other(f.cursors["contacts"]),
	} {
		cases = append(cases, tc{"contacts cursor: " + name, "GET", "/v1/contacts", f.key, "", map[string]string{"q": "bo", "cursor": c}, 400})
	}
	for name, c := range map[string]string{
		"contacts cursor":   f.cursors["contacts"],
		"other group":       cursorOf(`{"k":{"PK":"T#` + f.tenant + `#G#Shopify - G1","SK":"C#c_1"}}`),
		"other tenant's":    other(f.cursors["group"]),
		"membership sk bad": cursorOf(`{"k":{"PK":"T#` + f.tenant + `#G#Shopify - VIP","SK":"CONTACT"}}`),
	} {
		cases = append(cases, tc{"group cursor: " + name, "GET", "/v1/contacts", f.key, "", map[string]string{"group": "Shopify - VIP", "cursor": c}, 400})
	}
	for name, c := range map[string]string{
		"connections cursor": f.cursors["connections"],
		"wrong key names":    cursorOf(`{"k":{"A":"b"}}`),
	} {
		cases = append(cases,
			tc{"syncs cursor: " + name, "GET", "/v1/syncs", f.key, "", map[string]string{"cursor": c}, 400},
			tc{"syncs of a connection cursor: " + name, "GET", "/v1/syncs", f.key, "", map[string]string{"connectionId": f.connID, "cursor": c}, 400},
			tc{"report cursor: " + name, "GET", "/v1/syncs/" + f.syncID + "/report", f.key, "", map[string]string{"cursor": c}, 400},
			tc{"history cursor: " + name, "GET", "/v1/contacts/" + f.contactID + "/history", f.key, "", map[string]string{"cursor": c}, 400},
			tc{"groups cursor: " + name, "GET", "/v1/groups", f.key, "", map[string]string{"cursor": c}, 400},
			tc{"export cursor: " + name, "GET", "/v1/contacts/export", f.key, "", map[string]string{"cursor": c}, 400},
		)
	}
	cases = append(cases, tc{"report cursor: huge offset", "GET", "/v1/syncs/" + f.syncID + "/report", f.key, "",
		map[string]string{"cursor": cursorOf(`{"k":{"PK":"T#` + f.tenant + `#RUN#` + f.syncID + `","SK":"ROWS#p"},"o":99999999999}`)}, 400})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := a.do(c.method, c.path, c.token, c.body, c.query)
			e, _ := out["error"].(map[string]any)
			if code != c.want || e == nil || e["code"] == nil || e["message"] == nil {
				t.Errorf("%s %.80s: %d %.200v, want %d with {error:{code,message}}", c.method, c.path, code, out, c.want)
			}
		})
	}
	// The cursors the listings issued still work where they belong.
	for name, l := range map[string]map[string]string{
		"connections": nil, "contacts": nil, "contacts_q": {"q": "ann"}, "group": {"group": "Shopify - VIP"}, "groups": nil,
	} {
		q := map[string]string{"cursor": f.cursors[name]}
		for k, v := range l {
			q[k] = v
		}
		path := map[string]string{"connections": "/v1/connections", "groups": "/v1/groups"}[name]
		if path == "" {
			path = "/v1/contacts"
		}
		if code, out := a.do("GET", path, f.key, "", q); code != 200 || len(out["items"].([]any)) == 0 {
			t.Errorf("%s: its own cursor: %d %v", name, code, out)
		}
	}
	if code, out := a.do("GET", "/v1/contacts", f.key, "", map[string]string{"q": strings.Repeat("a", 200)}); code != http.StatusOK {
		t.Errorf("a 200-character q: %d %v, want 200", code, out)
	}
}

// TestAPI_SettingsAreBoundedInCharacters: labels, selected tags, field
// maps, config values and the SMS provider's texts are bounded in
// characters (a 40-character label of two-byte letters is fine); over
// the bound is a 400 naming the field, never a 500 from an item DynamoDB
// refuses (a 200 KB config value is stored twice: sealed and in clear).
func TestAPI_SettingsAreBoundedInCharacters(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.tenant()
	conn := func(extra string) string {
		return `{"platform":"shopify","consentMode":"inferred","defaultRegion":"AU",` + extra +
			`"config":{"shopDomain":"acme.myshopify.com","accessToken":"shpat_secret","webhookSecret":"whsec"}}`
	}
	if code, out := a.do("POST", "/v1/connections", key, conn(`"label":"`+strings.Repeat("é", 40)+`",`), nil); code != http.StatusCreated {
		t.Errorf("a 40-character label of two-byte letters: %d %v", code, out)
	}
	manyTags, _ := json.Marshal(make([]string, 101))
	manyFields := map[string]string{}
	for i := range 51 {
		manyFields[fmt.Sprint("f", i)] = "x"
	}
	fm, _ := json.Marshal(manyFields)
	for _, tc := range []struct{ name, body, field string }{
		{"41-character label", conn(`"label":"` + strings.Repeat("é", 41) + `",`), "label"},
		{"101 selected tags", conn(`"selectedTags":` + string(manyTags) + `,`), "selectedTags"},
		{"a 101-character tag", conn(`"selectedTags":["` + strings.Repeat("t", 101) + `"],`), "selectedTags"},
		{"51 mapped fields", conn(`"fieldMap":` + string(fm) + `,`), "fieldMap"},
		{"a 200 KB config value", strings.Replace(conn(""), "acme.myshopify.com", strings.Repeat("a", 200<<10), 1), "config.shopDomain"},
	} {
		code, out := a.do("POST", "/v1/connections", key, tc.body, nil)
		e, _ := out["error"].(map[string]any)
		fields, _ := e["fields"].(map[string]any)
		if code != 400 || fields[tc.field] == nil {
			t.Errorf("%s: %d %.300v, want 400 naming %s", tc.name, code, out, tc.field)
		}
	}
	provider := func(extra string) string {
		return `{"provider":"twilio","sender":"+15005550006","companyName":"Acme",` + extra + `"credentials":{"accountSid":"AC1","authToken":"tok"}}`
	}
	if code, out := a.do("PUT", "/v1/sms-provider", key, provider(`"helpText":"`+strings.Repeat("ü", 320)+`",`), nil); code != 200 {
		t.Errorf("a 320-character help text: %d %v", code, out)
	}
	for _, tc := range []struct{ name, body, field string }{
		{"101-character company name", strings.Replace(provider(""), "Acme", strings.Repeat("Ä", 101), 1), "companyName"},
		{"35-character sender", strings.Replace(provider(""), "+15005550006", strings.Repeat("1", 35), 1), "sender"},
		{"321-character help text", provider(`"helpText":"` + strings.Repeat("ü", 321) + `",`), "helpText"},
		{"641-character template", provider(`"templates":{"confirmation":"` + strings.Repeat("x", 641) + `"},`), "templates.confirmation"},
		{"a 200 KB credential", strings.Replace(provider(""), `"tok"`, `"`+strings.Repeat("k", 200<<10)+`"`, 1), "credentials.authToken"},
	} {
		code, out := a.do("PUT", "/v1/sms-provider", key, tc.body, nil)
		e, _ := out["error"].(map[string]any)
		fields, _ := e["fields"].(map[string]any)
		if code != 400 || fields[tc.field] == nil {
			t.Errorf("%s: %d %.300v, want 400 naming %s", tc.name, code, out, tc.field)
		}
	}
}
