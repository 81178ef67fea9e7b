package shopify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// ErrMalformedResult: a bulk result line that is not a customer node.
var ErrMalformedResult = errors.New("shopify: malformed bulk result")

// rangeCursorPrefix marks a range cursor of a bulk plan (version 1).
const rangeCursorPrefix = "sb1."

// maxBulkLine bounds one JSONL line (a customer with very many tags is a
// few kilobytes; anything near this is not a customer line).
const maxBulkLine = 16 << 20

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

func (r rangeCursor) encode() source.Cursor {
	b, _ := json.Marshal(r) // a small struct always encodes
	return source.Cursor(rangeCursorPrefix + base64.RawURLEncoding.EncodeToString(b))
}

func isRangeCursor(s source.Cursor) bool { return strings.HasPrefix(string(s), rangeCursorPrefix) }

func decodeRangeCursor(s source.Cursor) (rangeCursor, error) {
	raw, ok := strings.CutPrefix(string(s), rangeCursorPrefix)
	if !ok {
		return rangeCursor{}, ErrInvalidCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return rangeCursor{}, ErrInvalidCursor
	}
	var r rangeCursor
	if err := json.Unmarshal(b, &r); err != nil || r.Start < 0 || r.End <= r.Start {
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
		if err := sleep(ctx, backoff(attempt, wait)); err != nil {
			return source.Page{}, err
		}
	}
	return source.Page{}, fmt.Errorf("shopify: bulk download gave up after %d attempts: %w", maxAttempts, last)
}

// transientError is a download failure worth another attempt.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }

// readRange makes one attempt at a range. A line belongs to the range its
// first byte is in, so the read starts one byte early (to see whether
// Start begins a line) and goes on past End to finish the last line begun
// before End; the open-ended request (bytes=S-) is closed as soon as that
// line is read. wait is the server's Retry-After, if any.
func (c *Client) readRange(ctx context.Context, rc rangeCursor) (page source.Page, wait time.Duration, err error) {
	from := max(rc.Start-1, 0)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rc.URL, nil)
	if err != nil {
		return source.Page{}, 0, fmt.Errorf("shopify: bulk download request: %w", redactErr(err))
	}
	// The signed URL is the credential: the access token is not sent to
	// the (storage) host that serves it.
	req.Header.Set("Range", "bytes="+strconv.FormatInt(from, 10)+"-")
	resp, err := c.hc.Do(req)
	if err != nil {
		return source.Page{}, 0, &transientError{fmt.Errorf("shopify: bulk download: %w", redactErr(err))}
	}
	defer resp.Body.Close()
	total := int64(-1) // file size, when the answer says
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != from {
			return source.Page{}, 0, &transientError{fmt.Errorf("shopify: bulk download: unexpected Content-Range %q for bytes=%d-", excerpt(resp.Header.Get("Content-Range")), from)}
		}
		total = size
	case resp.StatusCode == http.StatusOK:
		// The whole file: skip to the range.
		total = resp.ContentLength
		if _, err := io.CopyN(io.Discard, resp.Body, from); err != nil {
			if errors.Is(err, io.EOF) && (total < 0 || total == from) {
				return source.Page{Records: []source.Record{}}, 0, nil // the range starts at the end of the file
			}
			return source.Page{}, 0, &transientError{fmt.Errorf("shopify: bulk download: skipping to byte %d: %w", from, err)}
		}
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return source.Page{}, retryAfter(resp.Header), &transientError{&HTTPError{Status: resp.StatusCode, Message: "bulk result download retried"}}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return source.Page{}, 0, &HTTPError{Status: resp.StatusCode, Message: "bulk result is shorter than the range " + strconv.FormatInt(rc.Start, 10) + "-" + strconv.FormatInt(rc.End, 10)}
	default:
		// 403/400 when the signed URL expired (seven days after the
		// operation completed) or was altered: replanning is the fix. The
		// body is not quoted: storage errors may echo the signed string.
		return source.Page{}, 0, &HTTPError{Status: resp.StatusCode, Message: "bulk result download refused (" + redactURL(rc.URL) + "; result URLs expire seven days after the operation completes)"}
	}
	recs, err := readLines(bufio.NewReaderSize(resp.Body, 64<<10), from, rc, total, c.opts)
	if err != nil {
		return source.Page{}, 0, err
	}
	return source.Page{Records: recs}, 0, nil
}

// readLines reads r, positioned at byte from of the file, and maps the
// lines that start in [rc.Start, rc.End). total is the file size, or -1.
func readLines(r *bufio.Reader, from int64, rc rangeCursor, total int64, opts source.Options) ([]source.Record, error) {
	recs := []source.Record{}
	pos := from
	// cut reports a body that ended before the file did.
	cut := func(err error) error {
		if errors.Is(err, io.EOF) && (total < 0 || pos >= total) {
			return nil // the end of the file
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return &transientError{fmt.Errorf("shopify: bulk download cut at byte %d: %w", pos, err)}
	}
	if rc.Start > 0 {
		// Byte Start-1: a newline means Start begins a line; otherwise the
		// line under way belongs to the previous range and is skipped.
		b, err := r.ReadByte()
		if err != nil {
			return recs, cut(err)
		}
		pos++
		if b != '\n' {
			line, err := readLine(r)
			pos += int64(len(line))
			if errors.Is(err, ErrMalformedResult) {
				return nil, err
			}
			if err != nil {
				return recs, cut(err)
			}
		}
	}
	for pos < rc.End {
		lineStart := pos
		line, err := readLine(r)
		pos += int64(len(line))
		if errors.Is(err, ErrMalformedResult) {
			return nil, err
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, cut(err)
		}
		if errors.Is(err, io.EOF) && total >= 0 && pos < total {
			return nil, cut(err) // a last line without its newline before the end of the file
		}
		if body := bytes.TrimRight(line, "\r\n"); len(bytes.TrimSpace(body)) > 0 {
			rec, derr := bulkRecord(body, opts)
			if derr != nil {
				return nil, fmt.Errorf("shopify: bulk result line at byte %d: %w", lineStart, derr)
			}
			recs = append(recs, rec)
		}
		if err != nil { // io.EOF: the file ended
			break
		}
	}
	return recs, nil
}

// readLine returns the next line with its '\n' (without one at the end of
// the file); err is io.EOF when the file ended.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			if len(line) > maxBulkLine {
				return line, fmt.Errorf("%w: a bulk result line longer than %d bytes", ErrMalformedResult, maxBulkLine)
			}
		default:
			return line, err
		}
	}
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
		return source.Record{}, fmt.Errorf("%w: not a customer node (id %q)", ErrMalformedResult, excerpt(n.ID))
	}
	return n.Customer.record(opts)
}

// parseContentRange reads "bytes first-last/size" ("*" size = -1).
func parseContentRange(s string) (first, size int64, ok bool) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, false
	}
	span, sz, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, false
	}
	f, _, ok := strings.Cut(span, "-")
	if !ok {
		return 0, 0, false
	}
	first, err := strconv.ParseInt(f, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	size = -1
	if sz != "*" {
		if size, err = strconv.ParseInt(sz, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return first, size, true
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
