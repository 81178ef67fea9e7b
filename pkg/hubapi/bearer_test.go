package hubapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/contactsync/contactsync/pkg/apigw"
)

// withAuthorization calls the handler with the Authorization header as given.
func (a *api) withAuthorization(method, path, authorization string) int {
	a.t.Helper()
	resp, err := a.h.Handle(context.Background(), apigw.Request{
		RawPath: path, Headers: map[string]string{"authorization": authorization},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}},
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return resp.StatusCode
}

// A tenant key is a Bearer credential: sent bare (no scheme) it used to be
// accepted, because the prefix was cut only when present.
func TestAPI_KeyWithoutBearerSchemeIsRefused(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.tenant()
	for _, tc := range []struct {
		authorization string
		want          int
	}{
		{key, http.StatusUnauthorized},
		{"Bearer " + key, http.StatusOK},
		{"bearer " + key, http.StatusOK},
		{"Bearer  " + key, http.StatusUnauthorized},
		{"Bearer " + key + " x", http.StatusUnauthorized},
		{"Basic " + key, http.StatusUnauthorized},
	} {
		if got := a.withAuthorization("GET", "/v1/connections", tc.authorization); got != tc.want {
			t.Errorf("Authorization %q: %d, want %d", tc.authorization, got, tc.want)
		}
	}
	if got := a.withAuthorization("POST", "/admin/tenants", admin); got != http.StatusUnauthorized {
		t.Errorf("bare admin token: %d, want 401", got)
	}
	if got := a.withAuthorization("POST", "/admin/tenants", "BEARER "+admin); got != http.StatusCreated {
		t.Errorf("admin token with upper-case scheme: %d, want 201", got)
	}
}
