package logging

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

func TestNew_MasksPersonalDataAndSecrets(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, slog.LevelInfo).With("tenant", "t1", "webhookSecret", "shpss_abc")
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	log.InfoContext(ctx, "merged", "phone", "+61412345678", "contact", slog.GroupValue(slog.String("email", "jane@example.com")),
		"note", "sent to +14155550100", "raw", "+14155550100", "Authorization", "Bearer xyz", "count", 3)
	out := buf.String()
	for _, leak := range []string{"+61412345678", "jane@example.com", "shpss_abc", "Bearer xyz", `"raw":"+14155550100"`} {
		if strings.Contains(out, leak) {
			t.Errorf("log leaks %q: %s", leak, out)
		}
	}
	for _, want := range []string{`"requestId":"req-1"`, `"tenant":"t1"`, `"phone":"+6141****678"`, `"email":"j***@example.com"`, `"count":3`, `"message":"merged"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s: %s", want, out)
		}
	}
}

func TestMaskString(t *testing.T) {
	tests := map[string]string{
		"+61412345678":     "+6141****678",
		"jane@example.com": "j***@example.com",
		"@x.com":           "***@x.com",
		"12345":            "*****",
	}
	for in, want := range tests {
		if got := MaskString(in); got != want {
			t.Errorf("MaskString(%q) = %q, want %q", in, got, want)
		}
	}
}
