package health

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestHandle_SampleEvents(t *testing.T) {
	tests := []struct {
		event      string
		wantStatus int
	}{
		{"get.json", 200},
		{"post.json", 405},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "..", "events", "health", tt.event))
			if err != nil {
				t.Fatal(err)
			}
			var req events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(b, &req); err != nil {
				t.Fatal(err)
			}
			resp, err := Handler{Version: "test"}.Handle(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			if tt.wantStatus == 200 && resp.Body != `{"status":"ok","version":"test"}` {
				t.Errorf("body = %s", resp.Body)
			}
		})
	}
}
