// Package twiliotest is a fake Twilio: it serves the Messages API send and
// list endpoints with HTTP Basic auth, the account fetch, the account's
// IncomingPhoneNumbers (list by PhoneNumber, update of SmsUrl, recorded)
// and Messaging Services (update of InboundRequestUrl), records what was
// sent, can refuse
// opted-out recipients (error 21610), fail with 5xx/429, or accept a message
// and then never answer (HangNext), and posts inbound SMS to a webhook URL
// signed exactly as Twilio signs them.
package twiliotest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/contactsync/contactsync/pkg/fakeapi"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/twilio"
)

// Options configure the fake.
type Options struct {
	AccountSID string // default "AC00000000000000000000000000000001"
	AuthToken  string // default "twilio_test_token"
	// FailNext makes the next N sends answer FailStatus (default 503).
	FailNext   int
	FailStatus int
	// Numbers are the account's phone numbers (IncomingPhoneNumbers), E.164.
	Numbers []string
}

// Server is a running fake.
type Server struct {
	fakeapi.Base // FailNext, HangNext, Requests, URL, Close

	opts Options

	mu      sync.Mutex
	sent    []sms.Message
	created []time.Time // of each sent message
	sids    []string    // of each sent message
	optOuts map[string]bool
	seq     int
	// numbers and services: the account's phone numbers and Messaging
	// Services (numbers.go).
	numbers  []*number
	services map[string]*service
	updates  fakeapi.Faults // FailUpdates
}

// NewServer starts the fake on a loopback port.
func NewServer(opts Options) *Server {
	return fakeapi.Serve(New(opts))
}

// New builds the fake without starting a server (mount Handler()).
func New(opts Options) *Server {
	if opts.AccountSID == "" {
		opts.AccountSID = "AC00000000000000000000000000000001"
	}
	if opts.AuthToken == "" {
		opts.AuthToken = "twilio_test_token"
	}
	if opts.FailStatus == 0 {
		opts.FailStatus = http.StatusServiceUnavailable
	}
	s := &Server{opts: opts, optOuts: map[string]bool{}, services: map[string]*service{}}
	s.FailNext(opts.FailNext, opts.FailStatus)
	for _, n := range opts.Numbers {
		s.AddNumber(n, "")
	}
	return s
}

// Credentials returns the account SID and auth token.
func (s *Server) Credentials() (string, string) { return s.opts.AccountSID, s.opts.AuthToken }

// OptOut makes sends to number fail with 21610, as Twilio does after STOP.
func (s *Server) OptOut(number string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.optOuts[number] = true
}

// Posts counts send requests received (accepted or not).
func (s *Server) Posts() int { return s.Base.Requests() }

// Sent returns the accepted messages.
func (s *Server) Sent() []sms.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sms.Message(nil), s.sent...)
}

// SentTo returns the accepted messages to one number.
func (s *Server) SentTo(number string) []sms.Message {
	var out []sms.Message
	for _, m := range s.Sent() {
		if m.To == number {
			out = append(out, m)
		}
	}
	return out
}

// Handler serves the Messages API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", s.send)
	mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/Messages.json", s.list)
	s.numberRoutes(mux)
	return mux
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r, r.PathValue("sid")) {
		return
	}
	if err := r.ParseForm(); err != nil {
		fakeapi.JSON(w, 400, map[string]any{"code": 21602, "message": "Message body is required.", "status": 400})
		return
	}
	if s.Inject(w, func(status int) any {
		return map[string]any{"code": 20500, "message": "injected failure", "status": status}
	}) {
		return
	}
	to, from, body := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body")
	s.mu.Lock()
	switch {
	case !strings.HasPrefix(to, "+"):
		s.mu.Unlock()
		fakeapi.JSON(w, 400, map[string]any{"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400})
		return
	case body == "":
		s.mu.Unlock()
		fakeapi.JSON(w, 400, map[string]any{"code": 21602, "message": "Message body is required.", "status": 400})
		return
	case s.optOuts[to]:
		s.mu.Unlock()
		fakeapi.JSON(w, 400, map[string]any{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400})
		return
	}
	s.seq++
	sid := fmt.Sprintf("SM%032x", s.seq)
	s.sent = append(s.sent, sms.Message{To: to, From: from, Text: body})
	s.created = append(s.created, time.Now().UTC())
	s.sids = append(s.sids, sid)
	s.mu.Unlock()
	if s.Hang(r) {
		return // accepted; the answer never came
	}
	fakeapi.JSON(w, 201, map[string]any{"sid": sid, "status": "queued", "to": to, "from": from, "body": body})
}

// list serves GET Messages.json: the account's messages, newest first,
// filtered by To and From, one page (PageSize, default 50) with
// next_page_uri.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r, r.PathValue("sid")) {
		return
	}
	q := r.URL.Query()
	size := pageSize(q)
	page, _ := strconv.Atoi(q.Get("Page"))
	s.mu.Lock()
	var all []map[string]any
	for i := len(s.sent) - 1; i >= 0; i-- {
		m := s.sent[i]
		if (q.Get("To") != "" && m.To != q.Get("To")) || (q.Get("From") != "" && m.From != q.Get("From")) {
			continue
		}
		all = append(all, map[string]any{"sid": s.sids[i], "to": m.To, "from": m.From, "body": m.Text, "status": "sent",
			"date_created": s.created[i].Format(time.RFC1123Z)})
	}
	s.mu.Unlock()
	start := min(page*size, len(all))
	end := min(start+size, len(all))
	out := map[string]any{"messages": append([]map[string]any{}, all[start:end]...), "page": page, "page_size": size, "next_page_uri": nil}
	if end < len(all) {
		q.Set("Page", strconv.Itoa(page+1))
		out["next_page_uri"] = r.URL.Path + "?" + q.Encode()
	}
	fakeapi.JSON(w, 200, out)
}

// SendInbound posts an inbound SMS to webhookURL signed for publicURL (the
// URL Twilio believes it calls; usually the same). messageSID "" makes a
// new one; pass a previous SID to simulate a redelivery.
func (s *Server) SendInbound(ctx context.Context, webhookURL, publicURL, from, to, text, messageSID string) (*http.Response, string, error) {
	if messageSID == "" {
		s.mu.Lock()
		s.seq++
		messageSID = fmt.Sprintf("SM%032x", 1<<40+s.seq)
		s.mu.Unlock()
	}
	form := url.Values{
		"MessageSid": {messageSID}, "SmsMessageSid": {messageSID}, "SmsSid": {messageSID}, "AccountSid": {s.opts.AccountSID},
		"From": {from}, "To": {to}, "Body": {text}, "NumMedia": {"0"}, "NumSegments": {"1"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set(twilio.HeaderSignature, twilio.Signature(s.opts.AuthToken, publicURL, form))
	resp, err := http.DefaultClient.Do(req)
	return resp, messageSID, err
}
