package shopify

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/source"
)

// BulkCustomersQuery is the bulk export of every customer: the fields of
// CustomersQuery and no nested connection, so each line of the JSONL
// result is one customer node. A bulk query takes no first/after: Shopify
// walks the whole connection itself.
const BulkCustomersQuery = `{
  customers {
    edges {
      node {` + customerFields + `      }
    }
  }
}`

// bulkQuery is the bulk export of the connection's customers:
// BulkCustomersQuery, or with tags selected (scope) the same filtered by
// them (customers(query: "(tag:'a' OR tag:'b')")).
func (c *Client) bulkQuery(tags []string) string {
	q := searchQuery(tags, time.Time{})
	if q == "" {
		return c.withMetafields(BulkCustomersQuery)
	}
	lit, _ := json.Marshal(q) // a GraphQL string literal: JSON's escapes are GraphQL's
	return c.withMetafields(strings.Replace(BulkCustomersQuery, "customers {", "customers(query: "+string(lit)+") {", 1))
}

// BulkRunMutation starts a bulk query (variable query).
const BulkRunMutation = `mutation BulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}`

// bulkOperationFields is the selection of a BulkOperation.
const bulkOperationFields = `id status errorCode type query createdAt completedAt objectCount rootObjectCount fileSize url`

// BulkCurrentQuery reads the app's most recent bulk query operation.
const BulkCurrentQuery = `query BulkCurrent { currentBulkOperation { ` + bulkOperationFields + ` } }`

// BulkPollQuery reads a bulk operation by id (variable id); polling by id
// rather than currentBulkOperation follows our operation even when the
// app runs several at once (2026-01+).
const BulkPollQuery = `query BulkPoll($id: ID!) { node(id: $id) { ... on BulkOperation { ` + bulkOperationFields + ` } } }`

// DefaultBulkLinesPerRange is how many customers a range cursor holds
// unless Config.BulkLinesPerRange says otherwise: PageSize, so a range is
// as much work for one bulk-sync invocation as a paged page, and a store's
// ranges spread over as many workers.
const DefaultBulkLinesPerRange = PageSize

// DefaultBulkReuseWithin is Config.BulkReuseWithin's default: 0, a
// completed export is never reused by PlanBulk (a new sync wants a new
// snapshot); a plan asked again after NotReadyError resumes its own export
// through ResumePlan instead.
const DefaultBulkReuseWithin = 0

const (
	defaultBulkPoll = time.Second
	maxBulkPoll     = 30 * time.Second
	bulkRunCost     = 10 // budgeted points of the mutation
	bulkPollCost    = 2  // budgeted points of a status read
)

// ErrBulkBusy: Shopify refused to start the bulk query because other bulk
// operations (not ours) are running. It is worth retrying later.
var ErrBulkBusy = errors.New("shopify: another bulk operation is in progress")

// BulkOperationError is a bulk operation that ended without a result:
// Status FAILED (ErrorCode ACCESS_DENIED, INTERNAL_SERVER_ERROR or
// TIMEOUT), CANCELED or EXPIRED. ACCESS_DENIED unwraps to ErrUnauthorized
// (missing scopes will not fix themselves); the others may succeed when
// the plan is retried, which starts a new operation.
type BulkOperationError struct {
	ID        string
	Status    string
	ErrorCode string
}

func (e *BulkOperationError) Error() string {
	msg := "shopify: bulk operation " + e.ID + " ended " + e.Status
	if e.ErrorCode != "" {
		msg += " (" + e.ErrorCode + ")"
	}
	return msg
}

func (e *BulkOperationError) Unwrap() error {
	if e.ErrorCode == "ACCESS_DENIED" {
		return ErrUnauthorized
	}
	return nil
}

// bulkOperation is a BulkOperation as read by BulkCurrentQuery and
// BulkPollQuery. URL is a signed link to the result; it is a bearer
// credential for seven days, so it is never logged or put in errors.
type bulkOperation struct {
	ID              string    `json:"id"`
	Status          string    `json:"status"`
	ErrorCode       string    `json:"errorCode"`
	Type            string    `json:"type"`
	Query           string    `json:"query"`
	CreatedAt       time.Time `json:"createdAt"`
	ObjectCount     uint64s   `json:"objectCount"`
	RootObjectCount uint64s   `json:"rootObjectCount"`
	FileSize        uint64s   `json:"fileSize"`
	URL             string    `json:"url"`
}

// uint64s decodes Shopify's UnsignedInt64, which GraphQL sends as a string
// of digits ("50"); a bare number and null are accepted too.
type uint64s uint64

func (u *uint64s) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*u = 0
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("UnsignedInt64: %w", err)
	}
	*u = uint64s(n)
	return nil
}

// running says whether an operation may still complete.
func (op *bulkOperation) running() bool {
	return op.Status == "CREATED" || op.Status == "RUNNING"
}

// ours says whether op is an export of query, the connection's bulkQuery
// (by this app: currentBulkOperation only shows the calling app's
// operations).
func (op *bulkOperation) ours(query string) bool {
	return (op.Type == "" || op.Type == "QUERY") && sameQuery(op.Query, query)
}

// sameQuery compares two query documents, ignoring layout.
func sameQuery(a, b string) bool {
	return strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
}

// reusable says whether PlanBulk may plan from op rather than start an
// export: ours, and running or completed within BulkReuseWithin.
func (c *Client) reusable(op *bulkOperation, tags []string, now time.Time) bool {
	if op == nil || !op.ours(c.bulkQuery(tags)) {
		return false
	}
	within := c.cfg.BulkReuseWithin
	return op.running() || (op.Status == "COMPLETED" && within > 0 && now.Sub(op.CreatedAt) < within)
}

// planBulkOperation exports the customers with a bulk operation and plans
// byte ranges of the result. An export of ours still running, or completed
// within BulkReuseWithin (left by an earlier attempt of this plan, e.g.
// one whose deadline passed while waiting), is reused rather than started
// again.
func (c *Client) planBulkOperation(ctx context.Context, tags []string) (source.Plan, error) {
	op, err := c.currentBulkOperation(ctx)
	if err != nil {
		return source.Plan{}, err
	}
	id := ""
	if c.reusable(op, tags, time.Now()) {
		id = op.ID
	} else if id, err = c.runBulkQuery(ctx, tags); err != nil {
		return source.Plan{}, err
	}
	done, err := c.awaitBulkOperation(ctx, id)
	if err != nil {
		return source.Plan{}, err
	}
	return rangePlan(done, c.cfg.BulkLinesPerRange)
}

// ResumePlan plans from the bulk operation an earlier attempt of this plan
// started (the Resume token of its NotReadyError): it waits for it again,
// even once completed, so the retry plans that export and no other. An
// operation that failed, expired or is gone is replaced by a new export.
func (c *Client) ResumePlan(ctx context.Context, token string) (source.Plan, error) {
	if !c.cfg.Bulk || !strings.HasPrefix(token, "gid://shopify/BulkOperation/") {
		return c.PlanBulk(ctx)
	}
	return c.planFull(ctx, token)
}

// resumeBulkOperation is ResumePlan's customers part.
func (c *Client) resumeBulkOperation(ctx context.Context, token string, tags []string) (source.Plan, error) {
	done, err := c.awaitBulkOperation(ctx, token)
	var be *BulkOperationError
	switch {
	case errors.As(err, &be) && !errors.Is(err, ErrUnauthorized), errors.Is(err, errBulkNotFound):
		return c.planBulkOperation(ctx, tags)
	case err != nil:
		return source.Plan{}, err
	}
	return rangePlan(done, c.cfg.BulkLinesPerRange)
}

// errBulkNotFound: node(id:) found no bulk operation by that id.
var errBulkNotFound = errors.New("shopify: bulk operation not found")

// currentBulkOperation returns the app's most recent bulk query, or nil.
func (c *Client) currentBulkOperation(ctx context.Context) (*bulkOperation, error) {
	var out struct {
		Op *bulkOperation `json:"currentBulkOperation"`
	}
	if err := c.query(ctx, bulkPollCost, BulkCurrentQuery, nil, &out); err != nil {
		return nil, fmt.Errorf("reading the current bulk operation: %w", err)
	}
	return out.Op, nil
}

// runBulkQuery starts BulkCustomersQuery and returns the operation's id.
// When Shopify answers that a bulk operation is already in progress (one
// at a time before 2026-01, up to five from 2026-01) and the running one
// is ours, its id is returned instead.
func (c *Client) runBulkQuery(ctx context.Context, tags []string) (string, error) {
	var out struct {
		Run struct {
			Op *struct {
				ID string `json:"id"`
			} `json:"bulkOperation"`
			UserErrors []struct {
				Message string `json:"message"`
				Code    string `json:"code"`
			} `json:"userErrors"`
		} `json:"bulkOperationRunQuery"`
	}
	if err := c.query(ctx, bulkRunCost, BulkRunMutation, map[string]any{"query": c.bulkQuery(tags)}, &out); err != nil {
		return "", fmt.Errorf("starting the bulk operation: %w", err)
	}
	if ue := out.Run.UserErrors; len(ue) > 0 {
		busy := ue[0].Code == "OPERATION_IN_PROGRESS" || ue[0].Code == "LIMIT_REACHED" ||
			strings.Contains(strings.ToLower(ue[0].Message), "already in progress")
		if !busy {
			code := cmp.Or(ue[0].Code, "USER_ERROR")
			return "", &GraphQLError{Message: excerpt(ue[0].Message), Code: code}
		}
		op, err := c.currentBulkOperation(ctx)
		if err != nil {
			return "", err
		}
		if op != nil && op.ours(c.bulkQuery(tags)) && op.running() {
			return op.ID, nil
		}
		if c := safehttp.Code(ue[0].Code); c != "" {
			return "", fmt.Errorf("%w (%s)", ErrBulkBusy, c)
		}
		return "", ErrBulkBusy
	}
	if out.Run.Op == nil || out.Run.Op.ID == "" {
		return "", errors.New("shopify: bulkOperationRunQuery returned no operation")
	}
	return out.Run.Op.ID, nil
}

// awaitBulkOperation polls the operation until it completes, waiting
// longer between polls as it runs; it stops when ctx is done, or returns a
// *source.NotReadyError once BulkWait has passed.
func (c *Client) awaitBulkOperation(ctx context.Context, id string) (*bulkOperation, error) {
	wait := c.cfg.BulkPollInterval
	if wait <= 0 {
		wait = defaultBulkPoll
	}
	var giveUp time.Time
	if c.cfg.BulkWait > 0 {
		giveUp = time.Now().Add(c.cfg.BulkWait)
	}
	for {
		var out struct {
			Op *bulkOperation `json:"node"`
		}
		if err := c.query(ctx, bulkPollCost, BulkPollQuery, map[string]any{"id": id}, &out); err != nil {
			return nil, fmt.Errorf("polling bulk operation %s: %w", id, err)
		}
		if out.Op == nil {
			return nil, fmt.Errorf("%w: %s", errBulkNotFound, id)
		}
		switch out.Op.Status {
		case "COMPLETED":
			return out.Op, nil
		case "FAILED", "CANCELED", "EXPIRED":
			return nil, &BulkOperationError{ID: id, Status: out.Op.Status, ErrorCode: out.Op.ErrorCode}
		}
		// CREATED, RUNNING, CANCELING (ends CANCELED) or a status added
		// later: wait and look again.
		if !giveUp.IsZero() && time.Now().Add(wait).After(giveUp) {
			return nil, &source.NotReadyError{RetryAfter: wait, Resume: id,
				Reason: fmt.Sprintf("bulk operation %s %s, %d objects so far", id, out.Op.Status, out.Op.ObjectCount)}
		}
		if err := httpx.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("waiting for bulk operation %s (last status %s): %w", id, out.Op.Status, err)
		}
		wait = min(wait*3/2, maxBulkPoll)
	}
}

// rangePlan splits a completed operation's result into byte ranges of
// about lines customers each, sized by the average line length. Total is
// objectCount (with no nested connection, one object per line). A result
// without a url (no customers) is a plan with no pages.
func rangePlan(op *bulkOperation, lines int) (source.Plan, error) {
	if op.URL == "" {
		if op.ObjectCount > 0 {
			return source.Plan{}, fmt.Errorf("shopify: bulk operation %s completed with %d objects but no url", op.ID, op.ObjectCount)
		}
		return source.Plan{Fanout: []source.Cursor{}, Total: 0}, nil
	}
	if op.ObjectCount > math.MaxInt32 || op.FileSize > math.MaxInt64/2 {
		return source.Plan{}, fmt.Errorf("shopify: bulk operation %s result too large (%d objects, %d bytes)", op.ID, op.ObjectCount, op.FileSize)
	}
	plan := source.Plan{Total: int(op.ObjectCount)}
	size := int64(op.FileSize)
	if size == 0 || op.ObjectCount == 0 {
		// Size or count unknown: one range read to the end of the file.
		plan.Fanout = []source.Cursor{rangeCursor{URL: op.URL, Start: 0, End: math.MaxInt64}.encode()}
		if op.ObjectCount == 0 {
			plan.Total = -1
		}
		return plan, nil
	}
	perLine := (size + int64(op.ObjectCount) - 1) / int64(op.ObjectCount)
	step := max(perLine*int64(lines), 1)
	if n := (size + step - 1) / step; n > maxRanges {
		return source.Plan{}, fmt.Errorf("%w: bulk operation %s would need %d ranges (%d objects, %d bytes)", ErrResultTooLarge, op.ID, n, op.ObjectCount, op.FileSize)
	}
	for start := int64(0); start < size; start += step {
		plan.Fanout = append(plan.Fanout, rangeCursor{URL: op.URL, Start: start, End: min(start+step, size)}.encode())
	}
	return plan, nil
}
