package shopify

import (
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// RangeCursor builds a range cursor, for tests of arbitrary boundaries.
func RangeCursor(url string, start, end int64) source.Cursor {
	return rangeCursor{URL: url, Start: start, End: end}.encode()
}

// DecodeRangeCursor reads a range cursor of a bulk plan.
func DecodeRangeCursor(cur source.Cursor) (url string, start, end int64, err error) {
	rc, err := decodeRangeCursor(cur)
	return rc.URL, rc.Start, rc.End, err
}

// RedactErr is redactErr, for its test.
var RedactErr = redactErr

// SetMaxWait lowers the cap on waits the shop asks for.
func SetMaxWait(c *Client, d time.Duration) { c.api.MaxWait = d }

// SetRangeCaps lowers the caps of one range page (bytes read, records,
// line length; 0 keeps a cap's default).
func SetRangeCaps(c *Client, bytes, records, line int64) {
	c.limits = rangeLimits{bytes: bytes, records: records, line: line}
}

// SetRangeSlack sets how far past a range's end its first request reads.
func SetRangeSlack(c *Client, n int64) { c.rangeSlack = n }
