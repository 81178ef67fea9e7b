// Package sinchtest is a fake Sinch SMS API: it accepts batches at
// /xms/v1/{service_plan_id}/batches with Bearer-token auth, records what
// was sent, lists batches by client_reference, can fail the next sends or
// accept one and never answer (HangNext), and posts MO callbacks signed
// with Sinch's HMAC scheme.
package sinchtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/contactsync/contactsync/pkg/fakeapi"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/sinch"
)

// Options configure the fake.
type Options struct {
	ServicePlanID string // default "plan_test"
	APIToken      string // default "sinch_test_token"
}

// Server is a running fake.
type Server struct {
	fakeapi.Base // FailNext, HangNext, Requests, URL, Close

	opts    Options
	mu      sync.Mutex
	sent    []sms.Message
	seq     int
	batches []map[string]any
}

// NewServer starts the fake.
func NewServer(opts Options) *Server {
	return fakeapi.Serve(New(opts))
}

// New builds it without a server.
func New(opts Options) *Server {
	if opts.ServicePlanID == "" {
		opts.ServicePlanID = "plan_test"
	}
	if opts.APIToken == "" {
		opts.APIToken = "sinch_test_token"
	}
	return &Server{opts: opts}
}

// Credentials are the plan id and token.
func (s *Server) Credentials() (string, string) { return s.opts.ServicePlanID, s.opts.APIToken }

// FailNext makes the next n sends answer 503.
func (s *Server) FailNext(n int) { s.Base.FailNext(n, http.StatusServiceUnavailable) }

// Posts counts send requests received.
func (s *Server) Posts() int { return s.Base.Requests() }

// Sent returns accepted messages (Reference holds client_reference).
func (s *Server) Sent() []sms.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sms.Message(nil), s.sent...)
}

// Handler serves the batches endpoint.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /xms/v1/{plan}/batches", s.batch)
	mux.HandleFunc("GET /xms/v1/{plan}/batches", s.list)
	return mux
}

// authorized checks the Bearer token and the plan, answering 401 as Sinch
// does when they are wrong.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if !fakeapi.Equal(r.Header.Get("Authorization"), "Bearer "+s.opts.APIToken) || r.PathValue("plan") != s.opts.ServicePlanID {
		fakeapi.JSON(w, 401, map[string]string{"code": "unauthorized", "text": "Invalid credentials"})
		return false
	}
	return true
}

func (s *Server) batch(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var b struct {
		From      string   `json:"from"`
		To        []string `json:"to"`
		Body      string   `json:"body"`
		Reference string   `json:"client_reference"`
	}
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || len(b.To) == 0 || b.Body == "" {
		fakeapi.JSON(w, 400, map[string]string{"code": "syntax_invalid_json", "text": "invalid batch"})
		return
	}
	if s.Inject(w, func(int) any { return map[string]string{"code": "service_unavailable", "text": "injected"} }) {
		return
	}
	s.mu.Lock()
	s.seq++
	for _, to := range b.To {
		s.sent = append(s.sent, sms.Message{To: to, From: b.From, Text: b.Body, Reference: b.Reference})
	}
	batch := map[string]any{"id": fmt.Sprintf("01BATCH%019d", s.seq), "to": b.To, "from": b.From, "body": b.Body,
		"client_reference": b.Reference, "created_at": time.Now().UTC().Format(time.RFC3339Nano)}
	s.batches = append(s.batches, batch)
	s.mu.Unlock()
	if s.Hang(r) {
		return // accepted; the answer never came
	}
	fakeapi.JSON(w, 201, batch)
}

// list serves GET batches filtered by client_reference (one page).
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	ref := r.URL.Query().Get("client_reference")
	s.mu.Lock()
	out := []map[string]any{}
	for i := len(s.batches) - 1; i >= 0; i-- {
		if ref == "" || s.batches[i]["client_reference"] == ref {
			out = append(out, s.batches[i])
		}
	}
	s.mu.Unlock()
	fakeapi.JSON(w, 200, map[string]any{"count": len(out), "page": 0, "page_size": len(out), "batches": out})
}

// SendInbound posts an MO text to url, signed with secret (HMAC; "" sends
// it unsigned for URL-token plans). id "" makes a new one.
func (s *Server) SendInbound(ctx context.Context, url, secret, from, to, text, id string) (*http.Response, string, error) {
	if id == "" {
		s.mu.Lock()
		s.seq++
		id = fmt.Sprintf("01MO%022d", s.seq)
		s.mu.Unlock()
	}
	body, err := json.Marshal(map[string]any{"type": "mo_text", "id": id, "from": strings.TrimPrefix(from, "+"), "to": strings.TrimPrefix(to, "+"),
		"body": text, "received_at": time.Now().UTC().Format(time.RFC3339Nano), "operator_id": "31612"})
	if err != nil {
		return nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		nonce, ts := fmt.Sprintf("01NONCE%d", time.Now().UnixNano()), fmt.Sprint(time.Now().Unix())
		req.Header.Set(sinch.HeaderNonce, nonce)
		req.Header.Set(sinch.HeaderTimestamp, ts)
		req.Header.Set("x-sinch-webhook-signature-algorithm", "HmacSHA256")
		req.Header.Set(sinch.HeaderSignature, sinch.Sign(secret, body, nonce, ts))
	}
	resp, err := http.DefaultClient.Do(req)
	return resp, id, err
}
