// Package sandbox hosts the real Lambda handlers on one machine: an HTTP
// server that turns requests into the API Gateway HTTP API (payload 2.0)
// events the webhook, inbound and api handlers receive in AWS (and their
// responses back), and SQS pollers that invoke the bulksync and outbox
// handlers the way a Lambda event source mapping does. The local sandbox
// program (localstack/sandbox) and end-to-end tests use it.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// APIHandler is an API Gateway HTTP API Lambda handler.
type APIHandler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// MaxPayload is API Gateway HTTP API's request payload limit (10 MB).
const MaxPayload = 10 << 20

// HTTP adapts an API Gateway handler to net/http, as API Gateway would call
// it: the route key is "<METHOD> <route>", headers are lower-cased and
// joined, binary bodies are base64-encoded, and a handler error is a 500.
func HTTP(route string, h APIHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
		if err != nil {
			http.Error(w, `{"message":"Bad Request"}`, http.StatusBadRequest)
			return
		}
		if len(body) > MaxPayload {
			http.Error(w, `{"message":"Request Entity Too Large"}`, http.StatusRequestEntityTooLarge)
			return
		}
		ev := Event(route, r, body)
		ev.PathParameters = pathParameters(route, r)
		ctx := lambdacontext.NewContext(r.Context(), &lambdacontext.LambdaContext{AwsRequestID: ev.RequestContext.RequestID})
		resp, err := h(ctx, ev)
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"message":"Internal Server Error"}`)
			return
		}
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		for k, vs := range resp.MultiValueHeaders {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		for _, c := range resp.Cookies {
			w.Header().Add("Set-Cookie", c)
		}
		out := []byte(resp.Body)
		if resp.IsBase64Encoded {
			if out, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
		}
		status := resp.StatusCode
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = w.Write(out)
	})
}

// Event builds the API Gateway HTTP API v2 event for r.
func Event(route string, r *http.Request, body []byte) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	for k, vs := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	query := map[string]string{}
	for k, vs := range r.URL.Query() {
		query[k] = strings.Join(vs, ",")
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	now := time.Now()
	id := make([]byte, 16)
	_, _ = rand.Read(id) // crypto/rand.Read never fails
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: r.Method + " " + route, RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery,
		Headers: headers, QueryStringParameters: query,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID: "123456789012", APIID: "sandbox", DomainName: r.Host, Stage: "$default", RouteKey: r.Method + " " + route,
			RequestID: hex.EncodeToString(id), Time: now.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: ip, UserAgent: r.UserAgent(),
			},
		},
	}
	if len(query) == 0 {
		ev.QueryStringParameters = nil
	}
	// Payload 2.0 moves the Cookie header into "cookies", one "name=value"
	// a cookie, and leaves no cookie header.
	if c, ok := headers["cookie"]; ok {
		delete(ev.Headers, "cookie")
		for _, part := range strings.Split(c, ";") {
			if part = strings.TrimSpace(part); part != "" {
				ev.Cookies = append(ev.Cookies, part)
			}
		}
	}
	if utf8.Valid(body) {
		ev.Body = string(body)
	} else {
		ev.Body = base64.StdEncoding.EncodeToString(body)
		ev.IsBase64Encoded = true
	}
	return ev
}

// pathParameters returns the values of route's {name} segments, as API
// Gateway passes them, when r was routed by a pattern that names them.
func pathParameters(route string, r *http.Request) map[string]string {
	var out map[string]string
	for _, seg := range strings.Split(route, "/") {
		if !strings.HasPrefix(seg, "{") || !strings.HasSuffix(seg, "}") {
			continue
		}
		name := seg[1 : len(seg)-1]
		if v := r.PathValue(name); v != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[name] = v
		}
	}
	return out
}
