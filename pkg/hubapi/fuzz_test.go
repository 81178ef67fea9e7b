package hubapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/apigw"
)

// FuzzHubAPI_QueryAndPath sends arbitrary paths, ids, query strings,
// cursors and API keys to the Hub API handler on the embedded stack: it
// never answers 5xx, and every error has the {"error":{"code","message"}}
// shape. The seeds (the cases of TestAPI_InputBeyondKeyLimitsIs4xx and
// garbage) run in plain go test; explore with
// go test -run '^$' -fuzz FuzzHubAPI_QueryAndPath -fuzztime 10s ./pkg/hubapi/
func FuzzHubAPI_QueryAndPath(f *testing.F) {
	a := newAPI(f)
	fx := newEdgeFixture(f, a)
	long := strings.Repeat("x", 2000)
	// token: "" = the tenant's key, "-" = none, anything else as sent.
	seeds := []struct{ method, path, q, cursor, limit, group, token string }{
		{"GET", "/v1/contacts", "ann", "", "", "", ""},
		{"GET", "/v1/contacts", strings.Repeat("a", 1100), "", "", "", ""},
		{"GET", "/v1/contacts", "a@b", fx.cursors["contacts"], "2", "", ""},
		{"GET", "/v1/contacts", "", fx.cursors["group"], "", "Shopify - VIP", ""},
		{"GET", "/v1/contacts", "", cursorOf(`{"k":{"PK":"T#` + fx.otherTen + `","SK":"CONN#x"}}`), "", long, ""},
		{"GET", "/v1/contacts/export", "\xff", "", "", "", ""},
		{"GET", "/v1/connections", "", fx.cursors["groups"], "0", "", ""},
		{"GET", "/v1/connections", "", cursorOf(`{"k":{"PK":5}}`), "100", "", ""},
		{"GET", "/v1/connections", "", cursorOf(`{"k":{"A":"b"},"o":-4}`), "", "", ""},
		{"GET", "/v1/connections/" + fx.connID, "", "", "", "", ""},
		{"GET", "/v1/connections/" + fx.tenant + ".c_" + long, "", "", "", "", ""},
		{"PATCH", "/v1/connections/" + long, "", "", "", "", ""},
		{"POST", "/v1/connections/" + long + "/syncs", "", "", "", "", ""},
		{"GET", "/v1/contacts/" + fx.contactID + "/history", "", fx.cursors["connections"], "", "", ""},
		{"GET", "/v1/contacts/c_" + long, "", "", "", "", ""},
		{"PUT", "/v1/contacts/" + long + "/subscription", "", "", "", "", ""},
		{"GET", "/v1/syncs", "", "", "", "", ""},
		{"GET", "/v1/syncs/" + fx.syncID + "/report", "", cursorOf(`{"o":99999999999}`), "", "", ""},
		{"GET", "/v1/syncs/r" + long, "", "", "", "", ""},
		{"GET", "/v1/groups", "", "%%%", "x", "", ""},
		{"GET", "/v1/connections", "", "", "", "", strings.Repeat("a", 3000)},
		{"GET", "/v1/connections", "", "", "", "", "t_" + strings.Repeat("a", 3000) + ".s"},
		{"GET", "/v1/connections", "", "", "", "", "-"},
		{"GET", "//v1//contacts/%23/", "", "", "", "", ""},
		{"DELETE", "/v1/contacts/c_1#CONTACT", "", "", "", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.q, s.cursor, s.limit, s.group, s.token)
	}
	f.Fuzz(func(t *testing.T, method, path, q, cursor, limit, group, token string) {
		switch method { // keep to the API's methods (no body: writes fail validation)
		case "GET", "DELETE", "PATCH", "PUT", "POST":
		default:
			method = "GET"
		}
		switch token {
		case "":
			token = fx.key
		case "-":
			token = ""
		}
		query := map[string]string{"q": q, "cursor": cursor, "limit": limit, "group": group, "connectionId": q}
		for k, v := range query {
			if v == "" {
				delete(query, k)
			}
		}
		resp, err := a.h.Handle(context.Background(), apigw.Request{
			RawPath: path, QueryStringParameters: query,
			Headers:        map[string]string{"authorization": "Bearer " + token},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %.100q ?%.200v: %d %.200s", method, path, query, resp.StatusCode, resp.Body)
		}
		if resp.StatusCode >= 400 {
			var out struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || out.Error.Code == "" || out.Error.Message == "" {
				t.Fatalf("%s %.100q: %d with body %.200q, want {error:{code,message}}", method, path, resp.StatusCode, resp.Body)
			}
		}
	})
}
