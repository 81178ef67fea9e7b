// Package health is the smallest Lambda handler: it answers GET /health so a
// deployment (and `make invoke`) can prove the build, runtime and routing
// path end to end before any business handler is involved.
package health

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// Handler answers health checks.
type Handler struct {
	// Version is the build's version string (set at link time in main).
	Version string
}

type status struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}

// Handle answers 200 with {"status":"ok","version":...} to GET and 405 to
// anything else.
func (h Handler) Handle(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if req.RequestContext.HTTP.Method != http.MethodGet {
		return events.APIGatewayV2HTTPResponse{
			StatusCode: http.StatusMethodNotAllowed,
			Headers:    map[string]string{"Content-Type": "application/json", "Allow": http.MethodGet},
			Body:       `{"error":{"code":"method_not_allowed","message":"use GET"}}`,
		}, nil
	}
	body, err := json.Marshal(status{Status: "ok", Version: h.Version})
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusOK,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(body),
	}, nil
}
