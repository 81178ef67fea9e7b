package hubapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"regexp"
	"strings"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/store"
)

// reportRowOut is a report row as the API shows it: the stored row and the
// warnings of a row that is not invalid (a phone or email the record
// carried that could not be used).
type reportRowOut struct {
	store.ReportRow
	Warnings []string `json:"warnings,omitempty"`
}

func reportOut(rows []store.ReportRow) []reportRowOut {
	out := make([]reportRowOut, len(rows))
	for i, r := range rows {
		out[i] = reportRowOut{ReportRow: r, Warnings: r.Warnings()}
	}
	return out
}

// outcomePattern is what an outcome filter may be: any outcome a report
// row can carry (created, updated, invalid, skipped, out_of_scope, ...).
var outcomePattern = regexp.MustCompile(`^[a-z][a-z_]{0,39}$`)

// reportQuery validates the outcome filter of a report listing and that
// the sync exists; ok false means resp is the answer.
func (h *Handler) reportQuery(ctx context.Context, c call) (outcome string, resp apigw.Response, ok bool) {
	outcome = c.req.QueryStringParameters["outcome"]
	if outcome != "" && !outcomePattern.MatchString(outcome) {
		return "", apigw.Invalid(map[string]string{"outcome": "must be an outcome such as created, updated, invalid or out_of_scope"}), false
	}
	if _, err := h.d.Store.GetRun(ctx, c.tenant, c.params["id"]); err != nil {
		return "", h.storeError(ctx, "sync", "reading sync", err), false
	}
	return outcome, apigw.Response{}, true
}

// Report CSV downloads read the report reportCSVPage rows at a time and
// stop once the response body would pass MaxReportCSVBytes as Lambda
// returns it (JSON-escaped); X-Next-Cursor then continues it.
const (
	reportCSVPage = 100
	// MaxReportCSVBytes keeps a report download under Lambda's 6 MB
	// response limit: at most this much JSON-escaped body, plus one page.
	MaxReportCSVBytes = 3 << 20
)

var reportCSVHeader = []string{"externalId", "outcome", "reason", "warnings", "phoneReason", "emailReason", "identifier", "name", "contactId"}

// getReportCSV downloads a sync's report as CSV: a header row, then every
// row (with the same outcome filter as the JSON listing), read from the
// store page by page. Every cell is CSV-injection safe (csvSafe).
func (h *Handler) getReportCSV(ctx context.Context, c call) apigw.Response {
	outcome, resp, ok := h.reportQuery(ctx, c)
	if !ok {
		return resp
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(reportCSVHeader)
	cursor, size := c.req.QueryStringParameters["cursor"], 0
	for {
		rows, next, err := h.d.Store.ListReport(ctx, c.tenant, c.params["id"], outcome, reportCSVPage, cursor)
		if err != nil {
			return h.listError(ctx, err)
		}
		for _, r := range rows {
			_ = w.Write([]string{csvSafe(r.ExternalID), csvSafe(r.Outcome), csvSafe(r.Reason), csvSafe(strings.Join(r.Warnings(), ";")),
				csvSafe(r.PhoneReason), csvSafe(r.EmailReason), csvSafe(r.Identifier), csvSafe(r.Name), csvSafe(r.ContactID)})
		}
		w.Flush()
		cursor = next
		if size = jsonEscapedLen(buf.Bytes()); next == "" || size >= MaxReportCSVBytes {
			break
		}
	}
	out := apigw.Text(http.StatusOK, "text/csv; charset=utf-8", buf.String())
	out.Headers["Content-Disposition"] = `attachment; filename="report-` + c.params["id"] + `.csv"`
	if cursor != "" {
		out.Headers["X-Next-Cursor"] = cursor // more rows: call again with ?cursor=
	}
	return out
}

// jsonEscapedLen is the length of b inside a JSON string as encoding/json
// writes it (the Lambda response): quotes, backslashes and control
// characters take two or six bytes, <, > and & six.
func jsonEscapedLen(b []byte) int {
	n := len(b)
	for _, c := range b {
		switch {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
			n++
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			n += 5
		}
	}
	return n
}
