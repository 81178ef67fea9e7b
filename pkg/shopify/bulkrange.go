package shopify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/source"
)

// ErrMalformedResult: a bulk result line that is not a customer node.
var ErrMalformedResult = errors.New("shopify: malformed bulk result")

// rangeCursorPrefix marks a range cursor of a bulk plan (version 1).
const rangeCursorPrefix = "sb1."

// Caps on what one range page may hold, so that a result file whatever
// its size (or the size its operation claims) costs a worker bounded
// memory. Past a cap the page fails with a permanent ErrResultTooLarge.
const (
	// maxBulkLine bounds one JSONL line (a customer with very many tags
	// is a few kilobytes; anything near this is not a customer line).
	maxBulkLine = 1 << 20
	// maxRangeBytes bounds the bytes one range reads. A planned range is
	// about DefaultBulkLinesPerRange customers (a few hundred KiB); a
	// result whose fileSize is 0 or absent is planned as one range to the
	// end of the file, and a file beyond this is refused, not read into
	// memory.
	maxRangeBytes = 64 << 20
	// maxRangeRecords bounds the records of one range page (200 planned
	// ranges' worth).
	maxRangeRecords = 200 * DefaultBulkLinesPerRange
	// maxRanges bounds a plan's fan-out (50 million customers at the
	// default range size).
	maxRanges = 200_000
)

// ErrResultTooLarge: a bulk result range beyond the caps above. The file
// does not change, so the page is not retried.
var ErrResultTooLarge = errors.New("shopify: bulk result range too large")

// rangeLimits are the caps readLines applies.
type rangeLimits struct{ bytes, records, line int64 }

func (c *Client) rangeLimits() rangeLimits {
	l := rangeLimits{bytes: maxRangeBytes, records: maxRangeRecords, line: maxBulkLine}
	if c.limits.bytes > 0 {
		l.bytes = c.limits.bytes
	}
	if c.limits.records > 0 {
		l.records = c.limits.records
	}
	if c.limits.line > 0 {
		l.line = c.limits.line
	}
	return l
}

// rangeCursor is a part of a bulk result file: the customers whose lines
// START in [Start, End). Ranges that tile the file list each line exactly
// once, whatever the line lengths. It is self-contained (the signed URL
// included) so any worker can fetch it, as often as it is retried; the
// file does not change, so neither do the records.
type rangeCursor struct {
	URL   string `json:"u"`
	Start int64  `json:"s"`
	End   int64  `json:"e"`
}

func (r rangeCursor) encode() source.Cursor { return source.NewCursor(rangeCursorPrefix, r) }

func isRangeCursor(s source.Cursor) bool { return strings.HasPrefix(string(s), rangeCursorPrefix) }

func decodeRangeCursor(s source.Cursor) (rangeCursor, error) {
	var r rangeCursor
	if !s.Decode(rangeCursorPrefix, &r) || r.Start < 0 || r.End <= r.Start {
		return rangeCursor{}, ErrInvalidCursor
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return rangeCursor{}, ErrInvalidCursor
	}
	return r, nil
}

// redactURL keeps a result URL's scheme, host and path: its query string
// is the signature that grants access.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(bulk result url)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// fetchRange downloads one range of a bulk result and maps its customers.
// It retries 429 (after Retry-After), 5xx, network errors and bodies cut
// short, with backoff; the download is not a GraphQL request and spends
// nothing from the cost bucket.
func (c *Client) fetchRange(ctx context.Context, rc rangeCursor) (source.Page, error) {
	var last error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		page, wait, err := c.readRange(ctx, rc)
		if err == nil {
			return page, nil
		}
		if ctx.Err() != nil {
			return source.Page{}, ctx.Err()
		}
		var te *transientError
		if !errors.As(err, &te) {
			return source.Page{}, err
		}
		last = te.err
		if err := c.api.Pause(ctx, attempt, wait); errors.Is(err, httpx.ErrPastDeadline) {
			break
		} else if err != nil {
			return source.Page{}, err
		}
	}
	return source.Page{}, fmt.Errorf("shopify: bulk download gave up after %d attempts: %w", maxAttempts, last)
}

// transientError is a download failure worth another attempt.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }

// defaultRangeSlack is how far past End the first request of a range
// reads, so that the range's last line (a customer is a few hundred bytes)
// is finished without a second request; a longer line is finished by
// further requests of the same size. Reading a bounded range, rather than
// bytes=S- closed early, keeps the bytes fetched for nothing to the slack.
const defaultRangeSlack = 64 << 10

// readRange makes one attempt at a range. A line belongs to the range its
// first byte is in, so the read starts one byte early (to see whether
// Start begins a line) and goes on past End to finish the last line begun
// before End. wait is the server's Retry-After, if any.
func (c *Client) readRange(ctx context.Context, rc rangeCursor) (page source.Page, wait time.Duration, err error) {
	slack := c.rangeSlack
	if slack <= 0 {
		slack = defaultRangeSlack
	}
	from := max(rc.Start-1, 0)
	body := &rangeBody{c: c, ctx: ctx, url: rc.URL, pos: from, total: -1, chunk: slack}
	defer body.close()
	last := int64(-1) // to the end of the file when End is unknown (MaxInt64)
	if rc.End <= math.MaxInt64-slack {
		last = rc.End - 1 + slack
	}
	if err := body.open(last); err != nil {
		return source.Page{}, body.wait, err
	}
	recs, err := readLines(bufio.NewReaderSize(body, 64<<10), from, rc, c.opts, c.rangeLimits())
	if err != nil {
		return source.Page{}, body.wait, err
	}
	keep, err := c.keepGroups(ctx)
	if err != nil {
		return source.Page{}, 0, err
	}
	for i := range recs {
		recs[i].KeepGroups = keep
	}
	return source.Page{Records: recs}, 0, nil
}

// rangeBody reads a bulk result file from byte pos on, through as many
// range requests as it takes. Read returns io.EOF only at the end of the
// file: a body cut short is a transientError.
type rangeBody struct {
	c     *Client
	ctx   context.Context
	url   string
	pos   int64         // file offset of the next byte Read returns
	limit int64         // offset after the current answer's last byte (-1: unknown)
	total int64         // file size (-1: unknown)
	chunk int64         // bytes asked for by each further request
	body  io.ReadCloser // the current answer's body, nil between answers
	eof   bool          // the end of the file was reached
	wait  time.Duration // Retry-After of the last answer
}

// open requests bytes pos..last of the file (last < 0: to its end).
func (b *rangeBody) open(last int64) error {
	req, err := http.NewRequestWithContext(b.ctx, http.MethodGet, b.url, nil)
	if err != nil {
		return fmt.Errorf("shopify: bulk download request: %w", redactErr(err))
	}
	// The signed URL is the credential: the access token is not sent to
	// the (storage) host that serves the file.
	spec := "bytes=" + strconv.FormatInt(b.pos, 10) + "-"
	if last >= 0 {
		spec += strconv.FormatInt(last, 10)
	}
	req.Header.Set("Range", spec)
	resp, err := b.c.api.HTTP.Do(req)
	if err != nil {
		return &transientError{fmt.Errorf("shopify: bulk download: %w", redactErr(err))}
	}
	keep := false
	defer func() {
		if !keep {
			resp.Body.Close()
		}
	}()
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		first, lastGot, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || first != b.pos {
			return &transientError{fmt.Errorf("shopify: bulk download: the Content-Range does not answer %s", spec)}
		}
		b.total, b.limit = size, lastGot+1
	case resp.StatusCode == http.StatusOK:
		// The whole file (Range not honoured): skip to pos.
		b.total, b.limit = resp.ContentLength, resp.ContentLength
		if _, err := io.CopyN(io.Discard, resp.Body, b.pos); err != nil {
			if errors.Is(err, io.EOF) && b.total < 0 {
				b.eof = true // pos is past the end of a file of unknown size
				return nil
			}
			return &transientError{fmt.Errorf("shopify: bulk download: skipping to byte %d: %w", b.pos, err)}
		}
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		b.wait = b.c.api.RetryAfter(resp.Header)
		return &transientError{&httpx.Error{Platform: "shopify", Status: resp.StatusCode, Note: "bulk result download retried"}}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		if b.total < 0 && b.limit > 0 {
			b.eof = true // a further request of a file of unknown size: its end
			return nil
		}
		return &httpx.Error{Platform: "shopify", Status: resp.StatusCode, Note: "bulk result is shorter than the range (from byte " + strconv.FormatInt(b.pos, 10) + ")"}
	default:
		// 403 or 400 when the signed URL expired (seven days after the
		// operation completed) or was altered: replanning is the fix. The
		// body is not quoted: storage errors may echo the signed string.
		return &httpx.Error{Platform: "shopify", Status: resp.StatusCode, Note: "bulk result download refused (" + redactURL(b.url) + "; result URLs expire seven days after the operation completes)"}
	}
	keep, b.body = true, resp.Body
	return nil
}

func (b *rangeBody) Read(p []byte) (int, error) {
	for {
		if b.eof {
			return 0, io.EOF
		}
		if b.body == nil { // the last answer ended before the file did
			if err := b.open(b.pos + b.chunk - 1); err != nil {
				return 0, err
			}
			continue
		}
		n, err := b.body.Read(p)
		b.pos += int64(n)
		switch {
		case errors.Is(err, io.EOF):
			b.body.Close()
			b.body = nil
			switch {
			case b.limit >= 0 && b.pos < b.limit:
				return n, &transientError{fmt.Errorf("shopify: bulk download cut at byte %d: %w", b.pos, io.ErrUnexpectedEOF)}
			case b.total < 0 && b.limit < 0, b.total >= 0 && b.pos >= b.total:
				b.eof = true
			}
		case err != nil:
			return n, &transientError{fmt.Errorf("shopify: bulk download at byte %d: %w", b.pos, redactErr(err))}
		}
		if n > 0 {
			return n, nil
		}
	}
}

// close ends the current answer, first reading what is left of it (at
// most about the slack once the range's lines are read) so the connection
// can be reused.
func (b *rangeBody) close() {
	if b.body != nil {
		_, _ = io.CopyN(io.Discard, b.body, b.chunk+1) // a failed drain only costs the connection
		b.body.Close()
		b.body = nil
	}
}

// readLines reads r, positioned at byte from of the file, and maps the
// lines that start in [rc.Start, rc.End).
func readLines(r *bufio.Reader, from int64, rc rangeCursor, opts source.Options, lim rangeLimits) ([]source.Record, error) {
	recs := []source.Record{}
	pos := from
	fail := func(err error) error {
		var te *transientError
		var he *httpx.Error
		if errors.As(err, &te) || errors.As(err, &he) || errors.Is(err, ErrMalformedResult) || errors.Is(err, ErrResultTooLarge) {
			return err
		}
		return &transientError{fmt.Errorf("shopify: bulk download at byte %d: %w", pos, err)}
	}
	if rc.Start > 0 {
		// Byte Start-1: a newline means Start begins a line; otherwise the
		// line under way belongs to the previous range and is skipped.
		b, err := r.ReadByte()
		if errors.Is(err, io.EOF) {
			return recs, nil // the range starts at the end of the file
		}
		if err != nil {
			return nil, fail(err)
		}
		pos++
		if b != '\n' {
			_, n, _, err := readLine(r, nil, lim.line)
			pos += n
			if errors.Is(err, io.EOF) {
				return recs, nil
			}
			if err != nil {
				return nil, fail(err)
			}
		}
	}
	var line []byte // reused: bulkRecord copies what it keeps
	for pos < rc.End {
		lineStart := pos
		var (
			err     error
			n       int64
			tooLong bool
		)
		line, n, tooLong, err = readLine(r, line[:0], lim.line)
		pos += n
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fail(err)
		}
		if pos-from > lim.bytes {
			return nil, fmt.Errorf("%w: more than %d bytes from byte %d, too many to read as one page", ErrResultTooLarge, lim.bytes, from)
		}
		if tooLong {
			// One customer too large to read is that customer's problem:
			// it is reported invalid, the rest of the page is read.
			if int64(len(recs)) >= lim.records {
				return nil, fmt.Errorf("%w: more than %d customers from byte %d", ErrResultTooLarge, lim.records, from)
			}
			recs = append(recs, unreadableRecord(line, opts))
		} else if body := bytes.TrimRight(line, "\r\n"); len(bytes.TrimSpace(body)) > 0 {
			rec, derr := bulkRecord(body, opts)
			if derr != nil {
				return nil, fmt.Errorf("shopify: bulk result line at byte %d: %w", lineStart, derr)
			}
			if int64(len(recs)) >= lim.records {
				return nil, fmt.Errorf("%w: more than %d customers from byte %d", ErrResultTooLarge, lim.records, from)
			}
			recs = append(recs, rec)
		}
		if err != nil { // io.EOF: the end of the file
			break
		}
	}
	return recs, nil
}

// readLine appends the next line, with its '\n' (none at the end of the
// file), to line and returns the bytes it consumed; err is io.EOF when the
// file ended. A line longer than maxLine is read to its end but not kept
// (tooLong; line then holds only its start, enough to find its id).
func readLine(r *bufio.Reader, line []byte, maxLine int64) (_ []byte, n int64, tooLong bool, err error) {
	var tail []byte // the overlong line's last bytes
	for {
		chunk, err := r.ReadSlice('\n')
		n += int64(len(chunk))
		switch {
		case tooLong:
			tail = append(tail, chunk[max(0, len(chunk)-unreadableKeep):]...)
			tail = tail[max(0, len(tail)-unreadableKeep):]
		case n > maxLine:
			tooLong = true
			line = append(line, chunk...)
			tail = append(tail, line[max(0, len(line)-unreadableKeep):]...)
			line = line[:min(len(line), unreadableKeep)]
		default:
			line = append(line, chunk...)
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if tooLong {
				// Its start and end: the id is in one of them whatever
				// the order of the line's keys.
				line = append(append(line, ' '), tail...)
			}
			return line, n, tooLong, err // nil, io.EOF or a read error
		}
	}
}

// unreadableKeep is how much of an overlong line's start and end is kept
// to find its id.
const unreadableKeep = 256

var customerGID = regexp.MustCompile(`"id"\s*:\s*"gid://shopify/Customer/([0-9]{1,20})"`)

// unreadableRecord is the record of a customer whose line was over the
// line cap: its id when the line's start names it, and the reason.
func unreadableRecord(start []byte, opts source.Options) source.Record {
	rec := source.Record{Platform: source.Shopify, Label: label(opts), ConnectionID: opts.ConnectionID, Unreadable: "record_too_large"}
	if m := customerGID.FindSubmatch(start); m != nil {
		rec.ExternalID = string(m[1])
	}
	return rec
}

// bulkRecord maps one JSONL line (a customer node) exactly as a node of a
// customers page is mapped.
func bulkRecord(line []byte, opts source.Options) (source.Record, error) {
	var n struct {
		Customer
		ParentID string `json:"__parentId"`
	}
	if err := json.Unmarshal(line, &n); err != nil {
		return source.Record{}, fmt.Errorf("%w: %w", ErrMalformedResult, err)
	}
	if n.ParentID != "" || !strings.HasPrefix(n.ID, "gid://shopify/Customer/") {
		return source.Record{}, fmt.Errorf("%w: not a customer node", ErrMalformedResult)
	}
	return n.Customer.record(opts)
}

// parseContentRange reads "bytes first-last/size" ("*" size = -1).
func parseContentRange(s string) (first, last, size int64, ok bool) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, 0, false
	}
	span, sz, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, 0, false
	}
	f, l, ok := strings.Cut(span, "-")
	if !ok {
		return 0, 0, 0, false
	}
	first, err1 := strconv.ParseInt(f, 10, 64)
	last, err2 := strconv.ParseInt(l, 10, 64)
	if err1 != nil || err2 != nil || last < first {
		return 0, 0, 0, false
	}
	size = -1
	if sz != "*" {
		var err error
		if size, err = strconv.ParseInt(sz, 10, 64); err != nil || size <= last {
			return 0, 0, 0, false
		}
	}
	return first, last, size, true
}

// redactErr strips the signed query string from the URL that net/http
// puts in its errors, so logs of the error hold no credential.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
	}
	return err
}
