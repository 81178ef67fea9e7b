// Package logging builds the JSON slog loggers every function uses, with the
// Lambda request id on each record and personal data and secrets masked
// whatever the caller passes.
//
// Masking is a handler wrapper, so it applies to attributes added anywhere
// (logger.With, groups, records): values under secret-looking keys are
// replaced by "[redacted]"; values under phone/email keys, and any string
// that looks like an E.164 number or an email address, are masked
// ("+6141****678", "j***@example.com"), and so is every E.164 number or
// email address inside other text: messages, strings, error values,
// fmt.Stringers and any other value as its JSON would show it, at any
// depth of groups. Types that implement slog.LogValuer (phone.E164,
// email.Address) mask themselves too.
package logging

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// ForLambda returns the logger for a Lambda main: the runtime's own handler
// (lambdacontext.NewLogHandler: requestId, AWS_LAMBDA_LOG_FORMAT and
// AWS_LAMBDA_LOG_LEVEL) wrapped with masking.
func ForLambda() *slog.Logger {
	return slog.New(Mask(lambdacontext.NewLogHandler()))
}

// New returns a masking JSON logger writing to w (sandbox, tools, tests). It
// adds the Lambda request id when the context carries one.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: lambdacontext.ReplaceAttr})
	return slog.New(Mask(requestID{h}))
}

// Mask wraps h so that every attribute is masked before h sees it.
func Mask(h slog.Handler) slog.Handler { return masking{h} }

type masking struct{ next slog.Handler }

func (m masking) Enabled(ctx context.Context, l slog.Level) bool { return m.next.Enabled(ctx, l) }

func (m masking) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, MaskText(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(maskAttr(a))
		return true
	})
	return m.next.Handle(ctx, out)
}

func (m masking) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = maskAttr(a)
	}
	return masking{m.next.WithAttrs(masked)}
}

func (m masking) WithGroup(name string) slog.Handler { return masking{m.next.WithGroup(name)} }

type requestID struct{ next slog.Handler }

func (h requestID) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }
func (h requestID) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	return h.next.Handle(ctx, r)
}
func (h requestID) WithAttrs(a []slog.Attr) slog.Handler { return requestID{h.next.WithAttrs(a)} }
func (h requestID) WithGroup(n string) slog.Handler      { return requestID{h.next.WithGroup(n)} }

var secretKeys = []string{"secret", "token", "password", "apikey", "api_key", "authorization", "credential", "signature", "accesskey", "consumerkey"}
var personalKeys = []string{"phone", "email", "msisdn", "from", "to", "number"}

func maskAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	key := strings.ToLower(a.Key)
	if v.Kind() == slog.KindGroup {
		attrs := v.Group()
		masked := make([]slog.Attr, len(attrs))
		for i, g := range attrs {
			masked[i] = maskAttr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(masked...)}
	}
	for _, s := range secretKeys {
		if strings.Contains(key, s) {
			return slog.String(a.Key, "[redacted]")
		}
	}
	if v.Kind() == slog.KindAny {
		// Errors, Stringers and other values are written as text or JSON by
		// the next handler: mask the numbers and emails that text carries.
		if text, ok := anyText(v.Any()); ok {
			if masked := MaskText(text); masked != text {
				return slog.String(a.Key, masked)
			}
		}
		return slog.Attr{Key: a.Key, Value: v}
	}
	if v.Kind() != slog.KindString {
		return slog.Attr{Key: a.Key, Value: v}
	}
	s := v.String()
	for _, p := range personalKeys {
		if strings.Contains(key, p) {
			return slog.String(a.Key, MaskString(s))
		}
	}
	if looksPersonal(s) {
		return slog.String(a.Key, MaskString(s))
	}
	return slog.String(a.Key, MaskText(s))
}

// looksPersonal reports whether s looks like an E.164 number or an email.
func looksPersonal(s string) bool {
	if strings.Contains(s, "@") && !strings.ContainsAny(s, " \n") {
		return true
	}
	if len(s) >= 8 && s[0] == '+' {
		for _, c := range s[1:] {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	return false
}

// MaskString masks a phone number or email for logs: an email keeps its
// first character and domain, anything else keeps its first five and last
// three characters when long enough to leave something hidden.
func MaskString(s string) string {
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		if at == 0 {
			return "***" + s[at:]
		}
		return s[:1] + "***" + s[at:]
	}
	if len(s) <= 8 {
		return strings.Repeat("*", len(s))
	}
	return s[:5] + strings.Repeat("*", len(s)-8) + s[len(s)-3:]
}
