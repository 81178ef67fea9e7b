// Package apigw holds what every API Gateway (HTTP API, payload v2) handler
// shares: JSON and error responses in the Hub API's error shape, body
// decoding with a size limit, header lookup, and route matching.
package apigw

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Request and Response are API Gateway HTTP API (payload format 2.0) events.
type (
	Request  = events.APIGatewayV2HTTPRequest
	Response = events.APIGatewayV2HTTPResponse
)

// ErrorBody is the error shape of every endpoint: {"error":{"code","message"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail describes an error; Fields names invalid input fields.
type ErrorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// JSON answers status with v encoded as JSON.
func JSON(status int, v any) Response {
	b, err := json.Marshal(v)
	if err != nil {
		return Error(http.StatusInternalServerError, "internal", "response could not be encoded")
	}
	return Response{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}
}

// Error answers status with the standard error body. The message is meant
// for callers: never pass internal error text.
func Error(status int, code, message string) Response {
	return JSON(status, ErrorBody{Error: ErrorDetail{Code: code, Message: message}})
}

// Invalid answers 400 with the invalid fields named.
func Invalid(fields map[string]string) Response {
	return JSON(http.StatusBadRequest, ErrorBody{Error: ErrorDetail{Code: "validation_failed", Message: "some fields are invalid", Fields: fields}})
}

// Text answers status with a body of the given content type.
func Text(status int, contentType, body string) Response {
	return Response{StatusCode: status, Headers: map[string]string{"Content-Type": contentType}, Body: body}
}

// ErrTooLarge: the body exceeds the handler's limit (answer 413).
var ErrTooLarge = errors.New("request body too large")

// ErrBadBody: the body is not valid base64 (API Gateway encodes binary bodies).
var ErrBadBody = errors.New("request body is not decodable")

// Body returns the raw request body bytes, decoding API Gateway's base64
// form, and refuses bodies over limit bytes.
func Body(req Request, limit int) ([]byte, error) {
	if req.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(req.Body)) > limit+3 {
			return nil, ErrTooLarge
		}
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return nil, ErrBadBody
		}
		if len(b) > limit {
			return nil, ErrTooLarge
		}
		return b, nil
	}
	if len(req.Body) > limit {
		return nil, ErrTooLarge
	}
	return []byte(req.Body), nil
}

// Header returns a request header case-insensitively (API Gateway
// lower-cases header names; other hosts may not).
func Header(req Request, name string) string {
	if v, ok := req.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// HTTPHeader returns the request headers as an http.Header.
func HTTPHeader(req Request) http.Header {
	h := make(http.Header, len(req.Headers))
	for k, v := range req.Headers {
		h.Set(k, v)
	}
	return h
}

// Method returns the request's HTTP method.
func Method(req Request) string { return req.RequestContext.HTTP.Method }

// Path returns the request path.
func Path(req Request) string {
	return cmp.Or(req.RawPath, req.RequestContext.HTTP.Path)
}

// Match matches path against a pattern like "/v1/connections/{id}/syncs"
// and returns the values of its {params}.
func Match(pattern, path string) (map[string]string, bool) {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) != len(xs) {
		return nil, false
	}
	var params map[string]string
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if xs[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[p[1:len(p)-1]] = xs[i]
			continue
		}
		if p != xs[i] {
			return nil, false
		}
	}
	return params, true
}
