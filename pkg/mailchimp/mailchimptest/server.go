// Package mailchimptest is a fake Mailchimp audience serving GET
// /3.0/lists/{id}/members (count, offset, fields, since_last_changed,
// total_items), its tags as static segments — GET
// /3.0/lists/{id}/segments (type, count, offset, total_items, each with
// its member_count of subscribed members) and GET
// /3.0/lists/{id}/segments/{segment_id}/members (count, offset, fields,
// include_cleaned / include_transactional / include_unsubscribed, which
// default to false as Mailchimp's do), GET /3.0/lists/{id}/merge-fields —
// with HTTP Basic API-key auth, Mailchimp's limit of 10
// simultaneous connections (429 beyond), an optional per-request latency,
// injectable failures and closed connections (pkg/fakeapi), and form-encoded list webhooks sent exactly as
// Mailchimp sends them. Members come from pkg/dev/fakestore by seed. For the
// connector's setup calls it also serves GET /3.0/lists (the audience and
// Options.OtherAudiences, with stats.member_count), GET /3.0/lists/{id}
// (fields honoured) and saved segments (AddSavedSegment) in the segments
// listing (audiences.go). List webhooks (hooks.go): GET/POST
// /3.0/lists/{id}/webhooks and GET/PATCH/DELETE .../webhooks/{webhook_id},
// with Mailchimp's GET check of a new URL, and the audience's own
// form-encoded deliveries when a test changes a member through the fake
// (Subscribe, ChangeProfile, Unsubscribe, ChangeEmail, Clean), filtered by
// each webhook's events and sources, retried by Deliver, a webhook dropped
// after MaxFailures consecutive failures.
package mailchimptest

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contactsync/contactsync/pkg/dev/fakestore"
	"github.com/contactsync/contactsync/pkg/fakeapi"
	"github.com/contactsync/contactsync/pkg/oauth/oauthtest"
)

// Options configure the fake audience.
type Options struct {
	Members     int
	Seed        int64
	FirstPerson int
	AudienceID  string // default "a6b5da1054"
	APIKey      string // default "0123456789abcdef0123456789abcdef-us6"
	Latency     time.Duration
	FailEvery   int
	URL         string
	// AudienceName is the audience's name (default "Demo audience");
	// OtherAudiences are more audiences of the account (names; empty,
	// and not served beyond GET /3.0/lists).
	AudienceName   string
	OtherAudiences []string
}

// Server is a running fake.
type Server struct {
	fakeapi.Base // FailNext, HangNext, Requests, Close

	opts    Options
	mu      sync.Mutex   // active
	data    sync.RWMutex // members, changed, encoded; requests read in parallel
	members []map[string]any
	changed []time.Time
	// encoded caches each member's JSON per projection (the "fields"
	// member keys, joined); Update drops a member's entries. It keeps the
	// fake's CPU out of a benchmark of the client: Mailchimp's servers are
	// not on the machine that runs the client.
	encoded map[string][]atomic.Pointer[[]byte]
	encMu   sync.Mutex // encoded's map itself
	// segments are the audience's tags (static segments), in creation
	// order; a member's "tags" hold {id, name} of the ones it is in.
	segments []segment
	active   int

	// saved are the audience's saved segments (conditions, not tags):
	// listed with their member counts, never synced.
	saved []SavedSegment
	// extraFields are merge fields added to the defaults (AddMergeField).
	extraFields []MergeField
	oauthOnce   sync.Once
	oauthApp    *oauthtest.Provider // OAuth()
	// hooks are the audience's list webhooks and their pending
	// deliveries (hooks.go).
	hooks hookState
}

// NewServer starts the fake.
func NewServer(opts Options) *Server {
	return fakeapi.Serve(NewStore(opts))
}

// NewStore builds it without a server.
func NewStore(opts Options) *Server {
	if opts.AudienceID == "" {
		opts.AudienceID = "a6b5da1054"
	}
	if opts.APIKey == "" {
		opts.APIKey = "0123456789abcdef0123456789abcdef-us6"
	}
	s := &Server{opts: opts}
	s.Mount(opts.URL) // URL() is the API base URL (apiBaseUrl)
	s.FailEvery(opts.FailEvery, http.StatusServiceUnavailable, "")
	s.initOutbox()
	for i := range opts.Members {
		p := fakestore.NewPerson(opts.Seed, opts.FirstPerson+i)
		email := strings.TrimSpace(p.Email)
		if email == "" {
			email = fmt.Sprintf("member%d@example.com", opts.FirstPerson+i) // every member has an email
		}
		sum := md5.Sum([]byte(strings.ToLower(email)))
		sms := map[string]string{"subscribed": "subscribed", "unsubscribed": "unsubscribed", "never": "nonsubscribed"}[p.Consent]
		var tags []map[string]any
		for j, t := range p.Tags {
			tags = append(tags, map[string]any{"id": j + 1, "name": t})
		}
		s.members = append(s.members, map[string]any{
			"id": hex.EncodeToString(sum[:]), "unique_email_id": fmt.Sprintf("%010x", uint64(i+1)*2654435761%(1<<40)),
			"email_address": email, "status": "subscribed",
			"merge_fields": map[string]any{"FNAME": p.FirstName, "LNAME": p.LastName, "PHONE": p.Phone},
			"tags":         tags, "last_changed": p.UpdatedAt.Format(time.RFC3339),
			"sms_phone_number": p.E164, "sms_subscription_status": sms, "sms_subscription_last_updated": p.ConsentAt.Format(time.RFC3339),
		})
		s.changed = append(s.changed, p.UpdatedAt)
	}
	// The tags the members carry are the audience's static segments.
	for _, m := range s.members {
		tags, _ := m["tags"].([]map[string]any)
		for _, t := range tags {
			t["id"] = s.segmentID(t["name"].(string))
		}
	}
	return s
}

// segment is a tag of the audience: a static segment.
type segment struct {
	ID      int
	Name    string
	Created time.Time
}

// segmentID returns the id of tag name, creating its segment (s.data
// write lock held, or construction).
func (s *Server) segmentID(name string) int {
	for _, g := range s.segments {
		if g.Name == name {
			return g.ID
		}
	}
	id := 100 + len(s.segments)*7 // ids are not dense on Mailchimp either
	s.segments = append(s.segments, segment{ID: id, Name: name, Created: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
	return id
}

// Tag adds tag name to members ns (1-based), as the Mailchimp UI or
// POST /lists/{id}/members/{hash}/tags does. The members' last_changed is
// left as it was (a tag is not a change of the member's fields).
func (s *Server) Tag(name string, ns ...int) {
	s.data.Lock()
	defer s.data.Unlock()
	id := s.segmentID(name)
	for _, n := range ns {
		m := s.members[n-1]
		tags, _ := m["tags"].([]map[string]any)
		if !slices.ContainsFunc(tags, func(t map[string]any) bool { return t["name"] == name }) {
			m["tags"] = append(tags, map[string]any{"id": id, "name": name})
		}
		s.dropEncoded(n - 1)
	}
}

// Untag removes tag name from members ns (1-based).
func (s *Server) Untag(name string, ns ...int) {
	s.data.Lock()
	defer s.data.Unlock()
	for _, n := range ns {
		m := s.members[n-1]
		tags, _ := m["tags"].([]map[string]any)
		m["tags"] = slices.DeleteFunc(slices.Clone(tags), func(t map[string]any) bool { return t["name"] == name })
		s.dropEncoded(n - 1)
	}
}

// DeleteTag deletes tag name: its segment and every member's tag.
func (s *Server) DeleteTag(name string) {
	s.data.Lock()
	defer s.data.Unlock()
	s.segments = slices.DeleteFunc(s.segments, func(g segment) bool { return g.Name == name })
	for i, m := range s.members {
		tags, _ := m["tags"].([]map[string]any)
		m["tags"] = slices.DeleteFunc(slices.Clone(tags), func(t map[string]any) bool { return t["name"] == name })
		s.dropEncoded(i)
	}
}

// UniqueEmailID returns member n's (1-based) unique_email_id, the id the
// connector links.
func (s *Server) UniqueEmailID(n int) string {
	s.data.RLock()
	defer s.data.RUnlock()
	return s.members[n-1]["unique_email_id"].(string)
}

func (s *Server) dropEncoded(i int) {
	s.encMu.Lock()
	defer s.encMu.Unlock()
	for _, enc := range s.encoded {
		enc[i].Store(nil)
	}
}

// hasTag reports whether member i carries the tag with segment id (s.data
// read lock held).
func (s *Server) hasTag(i, id int) bool {
	tags, _ := s.members[i]["tags"].([]map[string]any)
	return slices.ContainsFunc(tags, func(t map[string]any) bool { return t["id"] == id })
}

// APIKey and AudienceID are the credentials.
func (s *Server) APIKey() string     { return s.opts.APIKey }
func (s *Server) AudienceID() string { return s.opts.AudienceID }

// Update changes member n (1-based) and its last_changed.
func (s *Server) Update(n int, at time.Time, f func(m map[string]any)) {
	s.data.Lock()
	defer s.data.Unlock()
	f(s.members[n-1])
	s.members[n-1]["last_changed"] = at.UTC().Format(time.RFC3339)
	s.changed[n-1] = at
	s.dropEncoded(n - 1)
}

// projection returns the member keys a "fields" parameter selects, sorted
// and joined ("" = every key).
func projection(fields string) string {
	if fields == "" {
		return ""
	}
	var keys []string
	for _, f := range strings.Split(fields, ",") {
		if k, ok := strings.CutPrefix(strings.TrimSpace(f), "members."); ok && k != "" {
			k, _, _ = strings.Cut(k, ".") // members.merge_fields.FNAME keeps merge_fields
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return strings.Join(slices.Compact(keys), ",")
}

// memberJSON returns member i's JSON under projection proj (s.data read
// lock held: requests encode in parallel, an Update waits).
func (s *Server) memberJSON(i int, proj string) []byte {
	s.encMu.Lock()
	if s.encoded == nil {
		s.encoded = map[string][]atomic.Pointer[[]byte]{}
	}
	enc := s.encoded[proj]
	if enc == nil {
		enc = make([]atomic.Pointer[[]byte], len(s.members))
		s.encoded[proj] = enc
	}
	s.encMu.Unlock()
	if b := enc[i].Load(); b != nil {
		return *b
	}
	m := s.members[i]
	if proj != "" {
		m = map[string]any{}
		for _, k := range strings.Split(proj, ",") {
			if v, ok := s.members[i][k]; ok {
				m[k] = v
			}
		}
	}
	b, _ := json.Marshal(m) // plain maps always encode
	enc[i].Store(&b)
	return b
}

// Handler serves the members endpoint.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /3.0/lists/{list}/members", s.guarded(s.list))
	mux.HandleFunc("GET /3.0/lists/{list}/segments", s.guarded(s.listSegments))
	mux.HandleFunc("GET /3.0/lists/{list}/segments/{segment}/members", s.guarded(s.segmentMembers))
	mux.HandleFunc("GET /3.0/lists", s.guarded(s.audiences))
	mux.HandleFunc("GET /3.0/lists/{list}", s.guarded(s.audience))
	mux.HandleFunc("GET /3.0/lists/{list}/merge-fields", s.guarded(s.listMergeFields))
	mux.HandleFunc("GET /3.0/lists/{list}/webhooks", s.guarded(s.listHooks)) // hooks.go
	mux.HandleFunc("POST /3.0/lists/{list}/webhooks", s.guarded(s.createHook))
	mux.HandleFunc("GET /3.0/lists/{list}/webhooks/{id}", s.guarded(s.getHook))
	mux.HandleFunc("PATCH /3.0/lists/{list}/webhooks/{id}", s.guarded(s.updateHook))
	mux.HandleFunc("DELETE /3.0/lists/{list}/webhooks/{id}", s.guarded(s.deleteHook))
	mux.HandleFunc("GET /oauth2/authorize", s.oauthAuthorize)
	mux.HandleFunc("POST /oauth2/token", s.oauthToken)
	mux.HandleFunc("GET /oauth2/metadata", s.oauthMetadata)
	return mux
}

// guarded applies what every endpoint shares: the connection limit,
// injected failures, the API key and the audience id.
func (s *Server) guarded(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.active++
		active := s.active
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.active--
			s.mu.Unlock()
		}()
		if active > 10 {
			writeJSON(w, 429, map[string]any{"title": "Too Many Requests", "status": 429, "detail": "You have exceeded the limit of 10 simultaneous connections."})
			return
		}
		if s.Inject(w, func(status int) any { return map[string]any{"title": http.StatusText(status), "status": status} }) {
			return
		}
		if _, key, ok := r.BasicAuth(); (!ok || !fakeapi.Equal(key, s.opts.APIKey)) && !s.bearerOK(r) {
			writeJSON(w, 401, map[string]any{"title": "API Key Invalid", "status": 401, "detail": "Your API key may be invalid."})
			return
		}
		if r.PathValue("list") != s.opts.AudienceID && r.Pattern != "GET /3.0/lists" {
			notFound(w)
			return
		}
		h(w, r)
	}
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, 404, map[string]any{"title": "Resource Not Found", "status": 404, "detail": "The requested resource could not be found."})
}

// paging reads count (default 10, 1-1000) and offset (default 0).
func paging(w http.ResponseWriter, r *http.Request) (count, offset int, ok bool) {
	q := r.URL.Query()
	count, offset = 10, 0
	if v, err := strconv.Atoi(q.Get("count")); err == nil {
		count = v
	}
	if v, err := strconv.Atoi(q.Get("offset")); err == nil {
		offset = v
	}
	if count < 1 || count > 1000 || offset < 0 {
		writeJSON(w, 400, map[string]any{"title": "Invalid Resource", "status": 400, "detail": "count must be 1-1000"})
		return 0, 0, false
	}
	return count, offset, true
}

// listSegments serves the audience's tags as static segments (type=static
// or no type; saved and fuzzy segments: there are none).
func (s *Server) listSegments(w http.ResponseWriter, r *http.Request) {
	count, offset, ok := paging(w, r)
	if !ok {
		return
	}
	typ := r.URL.Query().Get("type")
	if typ != "" && typ != "static" && typ != "saved" && typ != "fuzzy" {
		writeJSON(w, 400, map[string]any{"title": "Invalid Resource", "status": 400, "detail": "type must be saved, static or fuzzy"})
		return
	}
	s.data.RLock()
	defer s.data.RUnlock()
	out := []map[string]any{}
	total := 0
	if typ == "" || typ == "static" {
		total = len(s.segments)
		for j := offset; j < len(s.segments) && j < offset+count; j++ {
			g := s.segments[j]
			members := 0
			for i := range s.members {
				if s.members[i]["status"] == "subscribed" && s.hasTag(i, g.ID) {
					members++
				}
			}
			out = append(out, map[string]any{"id": g.ID, "name": g.Name, "member_count": members, "type": "static",
				"created_at": g.Created.Format(time.RFC3339), "updated_at": g.Created.Format(time.RFC3339), "list_id": s.opts.AudienceID})
		}
	}
	if typ == "" || typ == "saved" {
		out, total = s.savedSegments(out, total, offset, count)
	}
	writeJSON(w, 200, map[string]any{"segments": out, "list_id": s.opts.AudienceID, "total_items": total})
}

// segmentMembers serves the members of one tag, in audience order, with
// Mailchimp's defaults: unsubscribed, cleaned and transactional members
// are left out unless include_<status>=true.
func (s *Server) segmentMembers(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("segment"))
	count, offset, ok := paging(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	include := map[string]bool{"subscribed": true, "pending": true,
		"unsubscribed": q.Get("include_unsubscribed") == "true", "cleaned": q.Get("include_cleaned") == "true",
		"transactional": q.Get("include_transactional") == "true"}
	s.data.RLock()
	if err != nil || !slices.ContainsFunc(s.segments, func(g segment) bool { return g.ID == id }) {
		s.data.RUnlock()
		notFound(w)
		return
	}
	var sel []int
	total := 0
	for i := range s.members {
		if !s.hasTag(i, id) || !include[fmt.Sprint(s.members[i]["status"])] {
			continue
		}
		if total >= offset && total < offset+count {
			sel = append(sel, i)
		}
		total++
	}
	s.data.RUnlock()
	s.writeMembers(w, r, sel, total, time.Now())
}

// writeJSON answers v; an error (4xx, 5xx) as Mailchimp's
// application/problem+json.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	if status >= 400 {
		w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	count, offset, ok := paging(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var since time.Time
	if v := q.Get("since_last_changed"); v != "" {
		since, _ = time.Parse(time.RFC3339, v)
	}
	s.data.RLock()
	var sel []int // member indexes of the page
	total := 0
	for i := range s.members {
		if !since.IsZero() && !s.changed[i].After(since) {
			continue
		}
		if total >= offset && total < offset+count {
			sel = append(sel, i)
		}
		total++
	}
	s.data.RUnlock()
	s.writeMembers(w, r, sel, total, start)
}

// writeMembers answers with members sel (indexes) and total_items, under
// the request's "fields" projection.
func (s *Server) writeMembers(w http.ResponseWriter, r *http.Request, sel []int, total int, start time.Time) {
	// Latency is the whole time of an answer, to its last byte: the fake
	// sends all but the last byte of a page at once, then the last byte
	// when Latency is up (a small answer is sent whole when it is up).
	wait := func() { time.Sleep(s.opts.Latency - time.Since(start)) }
	fields := r.URL.Query().Get("fields")
	if !strings.Contains(fields, "members") && fields != "" {
		wait()
		writeJSON(w, 200, map[string]any{"total_items": total})
		return
	}
	proj := projection(fields)
	s.data.RLock()
	page := make([][]byte, len(sel))
	size := 64
	for j, i := range sel {
		page[j] = s.memberJSON(i, proj)
		size += len(page[j]) + 1
	}
	s.data.RUnlock()
	b := make([]byte, 0, size)
	b = append(b, `{"members":[`...)
	for j, m := range page {
		if j > 0 {
			b = append(b, ',')
		}
		b = append(b, m...)
	}
	b = append(b, `],"total_items":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b[:len(b)-1])
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	wait()
	_, _ = w.Write(b[len(b)-1:])
}

// SendWebhook posts a form-encoded list webhook of type typ for member n
// (1-based) to hookURL, exactly as Mailchimp does (no signature).
func (s *Server) SendWebhook(ctx context.Context, hookURL, typ string, n int) (*http.Response, error) {
	s.data.RLock()
	m := s.members[n-1]
	merges := m["merge_fields"].(map[string]any)
	form := url.Values{"type": {typ}, "fired_at": {time.Now().UTC().Format("2006-01-02 15:04:05")},
		"data[id]": {m["unique_email_id"].(string)}, "data[list_id]": {s.opts.AudienceID}, "data[email]": {m["email_address"].(string)},
		"data[email_type]": {"html"}, "data[merges][EMAIL]": {m["email_address"].(string)},
		"data[merges][FNAME]": {fmt.Sprint(merges["FNAME"])}, "data[merges][LNAME]": {fmt.Sprint(merges["LNAME"])}, "data[ip_opt]": {"10.20.10.30"}}
	s.data.RUnlock()
	if typ == "unsubscribe" {
		form.Set("data[action]", "unsub")
		form.Set("data[reason]", "manual")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hookURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "MailChimp")
	return http.DefaultClient.Do(req)
}
