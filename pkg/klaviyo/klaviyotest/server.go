// Package klaviyotest is a fake Klaviyo account serving GET /api/profiles
// (page[size], page[cursor], filter=greater-than(updated,...),
// additional-fields[profile]=subscriptions, fields[profile] sparse
// fieldsets), the lists and segments with
// their members (see groups.go) and POST
// /api/profile-subscription-bulk-delete-jobs, the Webhooks API with its own
// signed deliveries (hooks.go), with the private-key check,
// the required revision header, the get_profiles rate limits (75/s burst,
// 750/min steady by default) announced in RateLimit-* headers and enforced
// with 429 + Retry-After, and injectable failures and closed connections
// (pkg/fakeapi). One window counts
// every endpoint (Klaviyo counts per endpoint, so the fake is stricter).
// Profiles come from pkg/dev/fakestore by seed; their phones are E.164 as
// Klaviyo stores them.
package klaviyotest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/fakeapi"
	"github.com/contactsync/contactsync/pkg/oauth/oauthtest"
)

// Options configure the fake.
type Options struct {
	Profiles    int
	Seed        int64
	FirstPerson int
	APIKey      string // default "pk_test"
	// PerSecond and PerMinute are the limits (defaults 75 and 750; a
	// negative value disables one).
	PerSecond, PerMinute int
	FailEvery            int
	URL                  string
	// Lists and Segments are how many lists and segments the account has
	// (default 0: none, so a listing sees profiles only). Their names,
	// members and join times are deterministic (groups.go).
	Lists, Segments int
	// The Webhooks API (hooks.go). NoWebhookAccess makes the account one
	// without it (403 permission_denied, as to an account without Advanced
	// KDP). HookPerSecond and HookPerMinute are its limits (defaults 1 and
	// 15; negative disables one). Topics are the topic ids the account
	// offers (default DefaultTopics). AllowHTTPEndpoints lets a webhook
	// deliver to http:// (Klaviyo requires https; a test's hub is plain).
	NoWebhookAccess              bool
	HookPerSecond, HookPerMinute int
	Topics                       []string
	AllowHTTPEndpoints           bool
}

// Server is a running fake.
type Server struct {
	fakeapi.Base // FailNext, HangNext, Requests, Close

	opts     Options
	mu       sync.Mutex
	profiles []map[string]any
	updated  []time.Time
	second   []time.Time // request times in the last second
	minute   []time.Time // ... and minute
	throttle int         // 429s answered
	unsubs   []string
	groups   []*group

	hooks hookState

	oauthOnce sync.Once
	oauthApp  *oauthtest.Provider // OAuth()
}

// NewServer starts the fake.
func NewServer(opts Options) *Server {
	return fakeapi.Serve(NewStore(opts))
}

// NewStore builds it without a server.
func NewStore(opts Options) *Server {
	if opts.APIKey == "" {
		opts.APIKey = "pk_test"
	}
	if opts.PerSecond == 0 {
		opts.PerSecond = 75
	}
	if opts.PerMinute == 0 {
		opts.PerMinute = 750
	}
	s := &Server{opts: opts}
	s.Mount(opts.URL) // URL() is the API base URL
	s.FailEvery(opts.FailEvery, http.StatusServiceUnavailable, "")
	countries := map[string]string{"AU": "Australia", "US": "United States", "GB": "United Kingdom", "NZ": "New Zealand"}
	for i := range opts.Profiles {
		p := fakestore.NewPerson(opts.Seed, opts.FirstPerson+i)
		consent := map[string]string{"subscribed": "SUBSCRIBED", "unsubscribed": "UNSUBSCRIBED", "never": "NEVER_SUBSCRIBED"}[p.Consent]
		var phone any
		if p.E164 != "" {
			phone = p.E164
		}
		s.profiles = append(s.profiles, map[string]any{
			"type": "profile", "id": fmt.Sprintf("01K%023d", opts.FirstPerson+i),
			"attributes": map[string]any{
				"email": strings.TrimSpace(p.Email), "phone_number": phone, "first_name": p.FirstName, "last_name": p.LastName,
				"updated": p.UpdatedAt.Format(time.RFC3339), "location": map[string]any{"country": countries[p.Country]},
				"properties": map[string]any{},
				"subscriptions": map[string]any{"sms": map[string]any{"marketing": map[string]any{
					"can_receive_sms_marketing": consent == "SUBSCRIBED", "consent": consent,
					"consent_timestamp": p.ConsentAt.Format(time.RFC3339), "method": "TEXT", "method_detail": "JOIN"}}},
			},
		})
		s.updated = append(s.updated, p.UpdatedAt)
	}
	s.groups = newGroups(opts)
	s.hooks.access = !opts.NoWebhookAccess
	s.initOutbox()
	return s
}

// APIKey is the private key.
func (s *Server) APIKey() string { return s.opts.APIKey }

// Unsubscribed returns the phone numbers bulk-unsubscribed so far.
func (s *Server) Unsubscribed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unsubs...)
}

// Throttled returns how many requests were answered 429 so far.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttle
}

// Update changes profile n (1-based) and its updated time.
func (s *Server) Update(n int, at time.Time, f func(attrs map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	attrs := s.profiles[n-1]["attributes"].(map[string]any)
	f(attrs)
	attrs["updated"] = at.UTC().Format(time.RFC3339)
	s.updated[n-1] = at
}

// Handler serves the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/profiles", s.list)
	mux.HandleFunc("GET /api/lists", s.directory("list"))
	mux.HandleFunc("GET /api/segments", s.directory("segment"))
	mux.HandleFunc("GET /api/lists/{id}/profiles", s.members("list"))
	mux.HandleFunc("GET /api/segments/{id}/profiles", s.members("segment"))
	mux.HandleFunc("POST /api/profile-subscription-bulk-delete-jobs", s.unsubscribe)
	s.hookRoutes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.serveOAuth(w, r) {
			return
		}
		if s.admit(w, r) {
			mux.ServeHTTP(w, r)
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/vnd.api+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, detail string) {
	writeJSON(w, status, apiErrors(status, code, detail))
}

// apiErrors is Klaviyo's JSON:API error document.
func apiErrors(status int, code, detail string) any {
	return map[string]any{"errors": []map[string]any{{"status": status, "code": code, "title": code, "detail": detail}}}
}

// admit applies failures, auth, the revision header and the rate limits.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	if s.Inject(w, func(status int) any { return apiErrors(status, "service_unavailable", "injected failure") }) {
		return false
	}
	s.mu.Lock()
	now := time.Now()
	keep := func(ts []time.Time, d time.Duration) []time.Time {
		for len(ts) > 0 && now.Sub(ts[0]) >= d {
			ts = ts[1:]
		}
		return ts
	}
	s.second, s.minute = keep(s.second, time.Second), keep(s.minute, time.Minute)
	limited := (s.opts.PerSecond > 0 && len(s.second) >= s.opts.PerSecond) || (s.opts.PerMinute > 0 && len(s.minute) >= s.opts.PerMinute)
	retry := 1
	if limited && s.opts.PerMinute > 0 && len(s.minute) >= s.opts.PerMinute {
		retry = int(time.Minute-now.Sub(s.minute[0]))/int(time.Second) + 1
	}
	if !limited {
		s.second, s.minute = append(s.second, now), append(s.minute, now)
	} else {
		s.throttle++
	}
	remaining := s.opts.PerMinute - len(s.minute)
	s.mu.Unlock()
	if !fakeapi.Equal(r.Header.Get("Authorization"), "Klaviyo-API-Key "+s.opts.APIKey) && !s.bearerOK(r) {
		apiError(w, http.StatusUnauthorized, "not_authenticated", "Authentication credentials were not provided or are invalid.")
		return false
	}
	if r.Header.Get("revision") == "" {
		apiError(w, http.StatusBadRequest, "invalid", "The revision header is required.")
		return false
	}
	if limited {
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		apiError(w, http.StatusTooManyRequests, "throttled", "Request was throttled.")
		return false
	}
	if s.opts.PerMinute > 0 {
		w.Header().Set("RateLimit-Limit", strconv.Itoa(s.opts.PerMinute))
		w.Header().Set("RateLimit-Remaining", strconv.Itoa(max(remaining, 0)))
		w.Header().Set("RateLimit-Reset", "60")
	}
	return true
}

var greaterThanUpdated = regexp.MustCompile(`^greater-than\(updated,([^)]+)\)$`)

// pageParams reads page[size] (default def, at most most) and the fake's
// page[cursor] (the index to start from); ok is false after an error
// answer.
func pageParams(w http.ResponseWriter, q url.Values, def, most int) (size, start int, ok bool) {
	size = def
	if v := q.Get("page[size]"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > most {
			apiError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("page[size] must be 1-%d", most))
			return 0, 0, false
		}
		size = n
	}
	if c := q.Get("page[cursor]"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		n, cerr := strconv.Atoi(strings.TrimPrefix(string(b), "idx:"))
		if err != nil || cerr != nil || n < 0 {
			apiError(w, http.StatusBadRequest, "invalid", "invalid page cursor")
			return 0, 0, false
		}
		start = n
	}
	return size, start, true
}

// nextLink is links.next for the page starting at index next.
func (s *Server) nextLink(r *http.Request, next int) string {
	q := r.URL.Query()
	q.Set("page[cursor]", base64.RawURLEncoding.EncodeToString([]byte("idx:"+strconv.Itoa(next))))
	return s.URL() + r.URL.Path + "?" + q.Encode()
}

// profileResource is profile i as the API returns it (subscriptions only
// when asked for). The caller holds s.mu.
func (s *Server) profileResource(i int, withSubs bool) map[string]any {
	p := s.profiles[i]
	if withSubs {
		return p
	}
	attrs := map[string]any{}
	for k, v := range p["attributes"].(map[string]any) {
		if k != "subscriptions" {
			attrs[k] = v
		}
	}
	return map[string]any{"type": p["type"], "id": p["id"], "attributes": attrs}
}

// profileFields are the top-level names fields[profile] accepts (those of
// get_profiles that the fake's profiles have, and id).
var profileFields = map[string]bool{"id": true, "email": true, "phone_number": true, "first_name": true, "last_name": true,
	"updated": true, "location": true, "properties": true, "subscriptions": true, "external_id": true, "created": true}

// sparse is profile p with only the attributes named in only (id is the
// resource's own and always there).
func sparse(p map[string]any, only []string) map[string]any {
	attrs := map[string]any{}
	for k, v := range p["attributes"].(map[string]any) {
		if slices.Contains(only, k) {
			attrs[k] = v
		}
	}
	return map[string]any{"type": p["type"], "id": p["id"], "attributes": attrs}
}

// filterSince reads a filter=greater-than(<field>,<RFC 3339>) parameter
// (zero time without one); it answers 400 and reports false when the
// filter is not re's or its time does not parse.
func filterSince(w http.ResponseWriter, q url.Values, re *regexp.Regexp) (time.Time, bool) {
	f := q.Get("filter")
	if f == "" {
		return time.Time{}, true
	}
	m := re.FindStringSubmatch(f)
	if m == nil {
		apiError(w, http.StatusBadRequest, "invalid", "unsupported filter")
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, m[1])
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid", "invalid datetime in filter")
		return time.Time{}, false
	}
	return t, true
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, start, ok := pageParams(w, q, 20, 100)
	if !ok {
		return
	}
	since, ok := filterSince(w, q, greaterThanUpdated)
	if !ok {
		return
	}
	withSubs := q.Get("additional-fields[profile]") == "subscriptions"
	var only []string // fields[profile]: a sparse fieldset
	if f := q.Get("fields[profile]"); f != "" {
		only = strings.Split(f, ",")
		for _, name := range only {
			if !profileFields[name] {
				apiError(w, http.StatusBadRequest, "invalid", "unknown field in fields[profile]: "+name)
				return
			}
		}
	}
	s.mu.Lock()
	var data []map[string]any
	next := -1
	for i := start; i < len(s.profiles); i++ {
		if !since.IsZero() && !s.updated[i].After(since) {
			continue
		}
		if len(data) == size {
			next = i
			break
		}
		p := s.profileResource(i, withSubs)
		if only != nil {
			p = sparse(p, only)
		}
		data = append(data, p)
	}
	s.mu.Unlock()
	links := map[string]any{"self": s.URL() + r.URL.RequestURI()}
	if next >= 0 {
		links["next"] = s.nextLink(r, next)
	}
	if data == nil {
		data = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "links": links})
}

func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Data struct {
			Type       string `json:"type"`
			Attributes struct {
				Profiles struct {
					Data []struct {
						Attributes struct {
							PhoneNumber string `json:"phone_number"`
						} `json:"attributes"`
					} `json:"data"`
				} `json:"profiles"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Data.Type != "profile-subscription-bulk-delete-job" {
		apiError(w, http.StatusBadRequest, "invalid", "invalid job body")
		return
	}
	profiles := body.Data.Attributes.Profiles.Data
	if len(profiles) == 0 || len(profiles) > 100 {
		apiError(w, http.StatusBadRequest, "invalid", "1 to 100 profiles per job")
		return
	}
	s.mu.Lock()
	for _, p := range profiles {
		s.unsubs = append(s.unsubs, p.Attributes.PhoneNumber)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}
