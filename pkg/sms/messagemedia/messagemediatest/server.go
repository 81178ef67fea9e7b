// Package messagemediatest is a fake Sinch MessageMedia account: it
// accepts POST /v1/messages with HTTP Basic auth, records what was sent
// (with each message's callback_url), lists the account's dedicated-number
// assignments (the credential check),
// can fail the next sends, and posts reply callbacks — RSA-signed when it
// holds a key, as signed-webhook accounts receive them.
package messagemediatest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/contactsync/contactsync/pkg/fakeapi"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/messagemedia"
)

// Options configure the fake.
type Options struct {
	APIKey, APISecret string // defaults "mm_key", "mm_secret"
	// Sign makes replies RSA-signed with a key generated for the fake.
	Sign bool
}

// Server is a running fake.
type Server struct {
	fakeapi.Base // FailNext, HangNext, Requests, URL, Close

	opts Options
	key  *rsa.PrivateKey
	mu   sync.Mutex
	sent []sms.Message
	seq  int
	// callbacks are the callback_url of each sent message ("" for none).
	callbacks []string
}

// NewServer starts the fake.
func NewServer(opts Options) *Server {
	if opts.APIKey == "" {
		opts.APIKey = "mm_key"
	}
	if opts.APISecret == "" {
		opts.APISecret = "mm_secret"
	}
	s := &Server{opts: opts}
	if opts.Sign {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("messagemediatest: generating a key: " + err.Error()) // crypto/rand does not fail
		}
		s.key = k
	}
	s.Start(s.Handler())
	return s
}

// Credentials are the API key and secret.
func (s *Server) Credentials() (string, string) { return s.opts.APIKey, s.opts.APISecret }

// PublicKeyPEM is the signing key's public half ("" when not signing).
func (s *Server) PublicKeyPEM() string {
	if s.key == nil {
		return ""
	}
	der, _ := x509.MarshalPKIXPublicKey(&s.key.PublicKey) // an RSA key always marshals
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// FailNext makes the next n sends answer 503.
func (s *Server) FailNext(n int) { s.Base.FailNext(n, http.StatusServiceUnavailable) }

// Sent returns accepted messages (Reference from metadata.reference).
func (s *Server) Sent() []sms.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sms.Message(nil), s.sent...)
}

// Handler serves the Messages API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/messages", s.send)
	mux.HandleFunc("GET /v1/messaging/numbers/dedicated/assignments", s.assignments)
	return mux
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	if !fakeapi.Basic(r, s.opts.APIKey, s.opts.APISecret) {
		fakeapi.JSON(w, 401, map[string]string{"message": "Unauthorized"})
		return
	}
	var b struct {
		Messages []struct {
			Content           string            `json:"content"`
			DestinationNumber string            `json:"destination_number"`
			SourceNumber      string            `json:"source_number"`
			CallbackURL       string            `json:"callback_url"`
			Metadata          map[string]string `json:"metadata"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || len(b.Messages) == 0 || len(b.Messages) > 100 {
		fakeapi.JSON(w, 400, map[string]string{"message": "Invalid request body"})
		return
	}
	if s.Inject(w, func(int) any { return map[string]string{"message": "injected"} }) {
		return
	}
	for _, m := range b.Messages {
		if m.Content == "" || m.DestinationNumber == "" {
			fakeapi.JSON(w, 400, map[string]string{"message": "content and destination_number are required"})
			return
		}
	}
	var ids []map[string]string
	s.mu.Lock()
	for _, m := range b.Messages {
		s.seq++
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq)
		s.sent = append(s.sent, sms.Message{To: m.DestinationNumber, From: m.SourceNumber, Text: m.Content, Reference: m.Metadata["reference"]})
		s.callbacks = append(s.callbacks, m.CallbackURL)
		ids = append(ids, map[string]string{"message_id": id, "status": "queued"})
	}
	s.mu.Unlock()
	if s.Hang(r) {
		return // accepted; the answer never came
	}
	fakeapi.JSON(w, 202, map[string]any{"messages": ids})
}

// CallbackURLs returns the callback_url of each accepted message, in the
// order of Sent.
func (s *Server) CallbackURLs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.callbacks...)
}

// assignments serves GET /v1/messaging/numbers/dedicated/assignments: the
// account's dedicated numbers (none in the fake), or 403 "Invalid
// authentication credentials" as the spec answers bad credentials.
func (s *Server) assignments(w http.ResponseWriter, r *http.Request) {
	if !fakeapi.Basic(r, s.opts.APIKey, s.opts.APISecret) {
		fakeapi.JSON(w, 403, map[string]string{"message": "Invalid authentication credentials"})
		return
	}
	fakeapi.JSON(w, 200, map[string]any{"data": []any{}, "pagination": map[string]any{"page_size": 1, "next_token": nil}})
}

// SendReply posts a reply callback to callbackURL; replyID "" makes a new one.
func (s *Server) SendReply(ctx context.Context, callbackURL, from, to, text, replyID string) (*http.Response, string, error) {
	if replyID == "" {
		s.mu.Lock()
		s.seq++
		replyID = fmt.Sprintf("a175e797-2b54-468b-9850-%012d", s.seq)
		s.mu.Unlock()
	}
	body, err := json.Marshal(map[string]any{"reply_id": replyID, "message_id": "877c19ef-fa2e-4cec-827a-e1df9b5509f7", "content": text,
		"date_received": time.Now().UTC().Format(time.RFC3339Nano), "source_number": from, "destination_number": to,
		"metadata": map[string]string{}, "vendor_account_id": map[string]string{"vendor_id": "SinchEU", "account_id": "Fake"}})
	if err != nil {
		return nil, "", err
	}
	resp, err := s.post(ctx, callbackURL, body)
	return resp, replyID, err
}

// SendDeliveryReport posts a delivery report of message messageID to
// callbackURL in the spec's shape (the notification a message with
// delivery_report and a callback_url gets when its status changes).
func (s *Server) SendDeliveryReport(ctx context.Context, callbackURL, messageID, status string) (*http.Response, error) {
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("01e1fa0a-6e27-4945-9cdb-%012d", s.seq)
	s.mu.Unlock()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	body, err := json.Marshal(map[string]any{"callback_url": callbackURL, "delivery_report_id": id, "source_number": "+61491570156",
		"date_received": now, "status": status, "delay": 0, "submitted_date": now, "original_text": "Hello", "message_id": messageID,
		"vendor_account_id": map[string]string{"vendor_id": "MessageMedia", "account_id": "Fake"}, "metadata": map[string]string{}})
	if err != nil {
		return nil, err
	}
	return s.post(ctx, callbackURL, body)
}

// post posts a callback body, RSA-signed when the fake holds a key.
func (s *Server) post(ctx context.Context, callbackURL string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callbackURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if s.key != nil {
		u, _ := url.Parse(callbackURL) // a URL the caller built
		date := time.Now().UTC().Format(http.TimeFormat)
		d := sha256.Sum256(messagemedia.SignedString(u.Path, date, body))
		sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, d[:])
		if err != nil {
			return nil, err
		}
		req.Header.Set("Date", date)
		req.Header.Set(messagemedia.HeaderDigestType, "SHA256")
		req.Header.Set("X-Messagemedia-Cipher-Type", "RSA")
		req.Header.Set("X-Messagemedia-Key-Id", "fake-key")
		req.Header.Set(messagemedia.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	}
	return http.DefaultClient.Do(req)
}
