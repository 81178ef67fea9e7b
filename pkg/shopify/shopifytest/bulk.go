package shopifytest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// bulkOp is one bulk query operation. Its result is generated when it is
// created (every customer, one JSON line each, in id order), so it does
// not change while it is downloaded.
type bulkOp struct {
	n       int
	query   string
	created time.Time
	delay   time.Duration
	failure string          // errorCode it ends FAILED with, if any
	gate    <-chan struct{} // while open, the operation stays RUNNING (Options.HoldBulk)
	count   int
	data    []byte
}

func (op *bulkOp) gid() string { return fmt.Sprintf("gid://shopify/BulkOperation/%d", op.n) }

// status is the operation's status at now.
func (op *bulkOp) status(now time.Time) string {
	if op.held() {
		return "RUNNING"
	}
	elapsed := now.Sub(op.created)
	switch {
	case elapsed >= op.delay && op.failure != "":
		return "FAILED"
	case elapsed >= op.delay:
		return "COMPLETED"
	case elapsed < op.delay/3:
		return "CREATED"
	}
	return "RUNNING"
}

// held reports whether the test still holds the operation open.
func (op *bulkOp) held() bool {
	if op.gate == nil {
		return false
	}
	select {
	case <-op.gate:
		return false
	default:
		return true
	}
}

func (op *bulkOp) running(now time.Time) bool {
	st := op.status(now)
	return st == "CREATED" || st == "RUNNING"
}

func newURLKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go 1.24+)
	return k
}

// token signs an operation's result URL.
func (s *Server) token(op *bulkOp) string {
	m := hmac.New(sha256.New, s.urlKey)
	m.Write([]byte(op.gid()))
	return hex.EncodeToString(m.Sum(nil))
}

// opJSON is the operation as a BulkOperation object (UnsignedInt64 fields
// as strings of digits, as Shopify sends them).
func (s *Server) opJSON(op *bulkOp, now time.Time) map[string]any {
	st := op.status(now)
	m := map[string]any{
		"id": op.gid(), "status": st, "errorCode": nil, "type": "QUERY", "query": op.query,
		"createdAt": op.created.UTC().Format(time.RFC3339), "completedAt": nil,
		"objectCount": "0", "rootObjectCount": "0", "fileSize": nil, "url": nil, "partialDataUrl": nil,
	}
	switch st {
	case "RUNNING":
		m["objectCount"] = strconv.Itoa(op.count / 2)
		m["rootObjectCount"] = m["objectCount"]
	case "FAILED":
		m["errorCode"] = op.failure
	case "COMPLETED":
		m["completedAt"] = op.created.Add(op.delay).UTC().Format(time.RFC3339)
		m["objectCount"] = strconv.Itoa(op.count)
		m["rootObjectCount"] = strconv.Itoa(op.count)
		if op.count > 0 {
			if !s.opts.OmitFileSize {
				m["fileSize"] = strconv.Itoa(len(op.data))
			}
			m["url"] = fmt.Sprintf("%s/bulk/%d.jsonl?token=%s", s.URL(), op.n, s.token(op))
		}
	}
	return m
}

// bulkSearch finds the search argument of a bulk query's customers field.
var bulkSearch = regexp.MustCompile(`customers\(query:\s*("(?:[^"\\]|\\.)*")\)`)

// startLocked creates a bulk operation of query; s.mu is held.
func (s *Server) startLocked(query string) *bulkOp {
	delay := s.opts.BulkDelay
	switch {
	case delay == 0:
		delay = 20 * time.Millisecond
	case delay < 0:
		delay = 0
	}
	op := &bulkOp{n: len(s.bulkOps) + 1, query: query, created: time.Now(), delay: delay, failure: s.opts.BulkFailure, gate: s.bulkGate}
	var tags []string // customers(query: "...") filters the export by tag
	if m := bulkSearch.FindStringSubmatch(query); m != nil {
		var search string
		if json.Unmarshal([]byte(m[1]), &search) == nil {
			tags = tagFilter(search)
		}
	}
	var buf bytes.Buffer
	aliases := metafieldAliases(query)
	for _, c := range s.customers { // in id order
		if !c.hasAnyTag(tags) {
			continue
		}
		line, err := json.Marshal(s.withFields(c, c.json(), aliases))
		if err != nil {
			panic(err) // maps of strings always encode
		}
		buf.Write(line)
		buf.WriteByte('\n')
		op.count++
	}
	op.data = buf.Bytes()
	s.bulkOps = append(s.bulkOps, op)
	return op
}

// StartBulkQuery starts a bulk query operation as the app would (another
// process, an earlier attempt) and returns its id.
func (s *Server) StartBulkQuery(query string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startLocked(query).gid()
}

// ReleaseBulk lets held bulk operations (Options.HoldBulk) complete as
// BulkDelay says; operations started afterwards are not held. Safe to call
// more than once.
func (s *Server) ReleaseBulk() {
	if s.bulkGate != nil {
		s.releaseBulk.Do(func() { close(s.bulkGate) })
	}
}

// BulkPolls is the number of bulk operation status reads served
// (currentBulkOperation and node(id:)).
func (s *Server) BulkPolls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bulkPolls
}

// BulkOperations is the number of bulk operations started.
func (s *Server) BulkOperations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bulkOps)
}

// Downloads is the number of result download requests, faulted ones included.
func (s *Server) Downloads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downloads
}

// BulkResult is the JSONL result of operation gid (nil if unknown).
func (s *Server) BulkResult(gid string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, op := range s.bulkOps {
		if op.gid() == gid {
			return op.data
		}
	}
	return nil
}

func throttled(w http.ResponseWriter, ext map[string]any) {
	writeJSON(w, map[string]any{"errors": []map[string]any{{"message": "Throttled", "extensions": map[string]string{"code": "THROTTLED"}}}, "extensions": ext})
}

// bulkRun serves bulkOperationRunQuery: one running bulk query per app and
// shop before API 2026-01 (OPERATION_IN_PROGRESS), five from 2026-01
// (LIMIT_REACHED).
func (s *Server) bulkRun(w http.ResponseWriter, req gqlRequest, version string) {
	ext, ok := s.spend(10)
	if !ok {
		throttled(w, ext)
		return
	}
	reply := func(op map[string]any, code, msg string) {
		errs := []map[string]any{}
		if code != "" {
			errs = append(errs, map[string]any{"field": []string{"query"}, "message": msg, "code": code})
		}
		writeJSON(w, map[string]any{"data": map[string]any{"bulkOperationRunQuery": map[string]any{
			"bulkOperation": op, "userErrors": errs}}, "extensions": ext})
	}
	q, _ := req.Variables["query"].(string)
	if !strings.Contains(q, "customers") || strings.Contains(q, "first:") {
		reply(nil, "INVALID", "Invalid bulk query: this fake exports the customers connection, without first/after")
		return
	}
	limit := 1
	if version >= "2026-01" || version == "unstable" {
		limit = 5
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var running []*bulkOp
	for _, op := range s.bulkOps {
		if op.running(now) {
			running = append(running, op)
		}
	}
	if len(running) >= limit {
		if limit == 1 {
			reply(nil, "OPERATION_IN_PROGRESS", "A bulk query operation for this app and shop is already in progress: "+running[0].gid()+".")
		} else {
			reply(nil, "LIMIT_REACHED", "Bulk operations limit reached. Please try again later.")
		}
		return
	}
	op := s.startLocked(q)
	reply(map[string]any{"id": op.gid(), "status": "CREATED"}, "", "")
}

// bulkCurrent serves currentBulkOperation: the most recent bulk query, or null.
func (s *Server) bulkCurrent(w http.ResponseWriter) {
	ext, ok := s.spend(1)
	if !ok {
		throttled(w, ext)
		return
	}
	s.mu.Lock()
	s.bulkPolls++
	var cur any
	if len(s.bulkOps) > 0 {
		cur = s.opJSON(s.bulkOps[len(s.bulkOps)-1], time.Now())
	}
	s.mu.Unlock()
	writeJSON(w, map[string]any{"data": map[string]any{"currentBulkOperation": cur}, "extensions": ext})
}

// bulkNode serves node(id:) for bulk operations.
func (s *Server) bulkNode(w http.ResponseWriter, req gqlRequest) {
	ext, ok := s.spend(1)
	if !ok {
		throttled(w, ext)
		return
	}
	id, _ := req.Variables["id"].(string)
	s.mu.Lock()
	s.bulkPolls++
	var node any
	for _, op := range s.bulkOps {
		if op.gid() == id {
			node = s.opJSON(op, time.Now())
		}
	}
	s.mu.Unlock()
	writeJSON(w, map[string]any{"data": map[string]any{"node": node}, "extensions": ext})
}

// download serves a completed operation's result at its signed URL, with
// single byte ranges (bytes=a-b, bytes=a-, bytes=-n) answered 206 and an
// unsatisfiable one 416, as cloud storage does. No access token: the
// signature is the credential.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.downloads++
	n := s.downloads
	s.mu.Unlock()
	if s.fault(w) {
		return
	}
	num, err := strconv.Atoi(strings.TrimSuffix(r.PathValue("file"), ".jsonl"))
	s.mu.Lock()
	var op *bulkOp
	if err == nil && num >= 1 && num <= len(s.bulkOps) {
		op = s.bulkOps[num-1]
	}
	s.mu.Unlock()
	if op == nil || op.status(time.Now()) != "COMPLETED" || op.count == 0 {
		http.Error(w, "<Error><Code>NoSuchKey</Code></Error>", http.StatusNotFound)
		return
	}
	if !hmac.Equal([]byte(r.URL.Query().Get("token")), []byte(s.token(op))) {
		http.Error(w, "<Error><Code>AccessDenied</Code></Error>", http.StatusForbidden)
		return
	}
	data := op.data
	size := int64(len(data))
	w.Header().Set("Content-Type", "application/jsonl")
	w.Header().Set("Accept-Ranges", "bytes")
	status := http.StatusOK
	if !s.opts.IgnoreRange {
		start, end, ok, satisfiable := parseRange(r.Header.Get("Range"), size)
		if ok && !satisfiable {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			http.Error(w, "<Error><Code>InvalidRange</Code></Error>", http.StatusRequestedRangeNotSatisfiable)
			return
		}
		if ok {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, size))
			data, status = data[start:end+1], http.StatusPartialContent
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	if s.opts.CutEvery > 0 && n%s.opts.CutEvery == 0 && len(data) > 1 {
		_, _ = w.Write(data[:len(data)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler) // the connection drops mid-body
	}
	_, _ = w.Write(data)
}

// parseRange reads a single-range Range header against a file of size
// bytes: ok says a usable range was given (otherwise the whole file is
// served, as RFC 9110 allows for absent, malformed or multiple ranges);
// satisfiable is false when it starts at or after the end of the file.
// end is inclusive.
func parseRange(h string, size int64) (start, end int64, ok, satisfiable bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, false
	}
	if first == "" { // bytes=-n: the last n bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false, false
		}
		if size == 0 {
			return 0, 0, true, false
		}
		return max(size-n, 0), size - 1, true, true
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false, false
	}
	end = size - 1
	if last != "" {
		if end, err = strconv.ParseInt(last, 10, 64); err != nil || end < start {
			return 0, 0, false, false
		}
		end = min(end, size-1)
	}
	if start >= size {
		return 0, 0, true, false
	}
	return start, end, true, true
}
