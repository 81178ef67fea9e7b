package store

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/contactsync/contactsync/pkg/logging"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
)

// reportItemsPerQuery is how many report row items one ListReport query
// reads at a time.
const reportItemsPerQuery = 4

// NewReportRow is the report row of a record (bounded by ApplyRecords, or
// as the connector produced it) with outcome d.Outcome and the identity
// id the merge read from it (merge.Identify; zero when the record never
// reached the merge). Any outcome string is accepted (a record left out of
// a connection's scope gets a row like any other). Phone and email reasons
// are prefixed with their kind ("phone_too_short", "email_invalid_syntax");
// a conflict carries the masked identifier in conflict; the name is the
// record's first and last name, cut to source.MaxReportNameRunes. Every
// field is bounded, so a row is at most source.MaxReportRowBytes.
func NewReportRow(rec source.Record, d merge.Decision, id merge.Identity) ReportRow {
	row := ReportRow{
		ExternalID: rec.ExternalID,
		Outcome:    clip(string(d.Outcome), source.MaxReportCodeRunes),
		Reason:     clip(string(d.Reason), source.MaxReportReasonRunes),
		ContactID:  clip(d.ContactID, source.MaxReportCodeRunes),
		Name:       clip(strings.TrimSpace(strings.TrimSpace(rec.FirstName)+" "+strings.TrimSpace(rec.LastName)), source.MaxReportNameRunes),
	}
	if len(row.ExternalID) > source.MaxExternalIDBytes+len("…") || !utf8.ValidString(row.ExternalID) {
		row.ExternalID = clip(row.ExternalID, 33) // as Bound shows an over-long id
	}
	pr := d.PhoneReason
	if pr == "" {
		pr = id.PhoneReason
	}
	if pr != "" {
		row.PhoneReason = clip("phone_"+string(pr), source.MaxReportCodeRunes)
	}
	if id.EmailReason != "" {
		row.EmailReason = clip("email_"+string(id.EmailReason), source.MaxReportCodeRunes)
	}
	switch {
	case hasReason(d.Reason, merge.ReasonPhoneConflict) && id.Phone != "":
		row.Identifier = maskIdentifier(id.Phone)
	case hasReason(d.Reason, merge.ReasonEmailConflict) && id.EmailKey != "":
		row.Identifier = maskIdentifier(id.EmailKey)
	}
	return row
}

// Warnings are what a row that is not invalid still asks the user to fix:
// the phone or email the record carried that could not be used, and each
// mapped field whose value did not parse as its type (field_invalid:<field>,
// dropped from the contact).
func (r ReportRow) Warnings() []string {
	if r.Outcome == string(merge.Invalid) {
		return nil
	}
	var w []string
	for _, s := range []string{r.PhoneReason, r.EmailReason} {
		if s != "" {
			w = append(w, s)
		}
	}
	for s := range strings.SplitSeq(r.Reason, ",") {
		if strings.HasPrefix(s, merge.NoteFieldInvalid+":") {
			w = append(w, s)
		}
	}
	return w
}

// hasReason reports whether a (possibly comma-joined) reason holds want.
func hasReason(reason, want merge.Reason) bool {
	for r := range strings.SplitSeq(string(reason), ",") {
		if merge.Reason(r) == want {
			return true
		}
	}
	return false
}

// maskIdentifier masks a phone (E.164) or email key as the logs do
// (logging.MaskString), valid UTF-8 and bounded.
func maskIdentifier(s string) string {
	return clip(strings.ToValidUTF8(logging.MaskString(s), ""), source.MaxReportNameRunes)
}

// clip makes s valid UTF-8 of at most n runes; a cut ends with "…".
func clip(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return source.Truncate(s, n-1) + "…"
}

// rowsSK is the sort key of part i of a page's report rows: the first part
// keeps the page's own key, the others follow it ("ROWS#<page>#01").
func rowsSK(pageID string, i int) string {
	if i == 0 {
		return "ROWS#" + pageID
	}
	return fmt.Sprintf("ROWS#%s#%02d", pageID, i)
}

// putRows writes a page's report rows in items of source.ReportRowsPerItem
// rows (each under DynamoDB's 400 KB item limit: source.MaxReportRowBytes
// a row), batched. The split depends only on the number of rows, so a
// retried page overwrites the same items.
func (s *Store) putRows(ctx context.Context, p PageResult, exp int64) error {
	var items []any
	for i, start := 0, 0; start < len(p.Rows); i, start = i+1, start+source.ReportRowsPerItem {
		part := p.Rows[start:min(start+source.ReportRowsPerItem, len(p.Rows))]
		items = append(items, rowsItem{PK: runPK(p.TenantID, p.RunID), SK: rowsSK(p.PageID, i), Rows: part, ExpiresAt: exp})
	}
	return s.putItems(ctx, "report rows", items)
}
