package shopify_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/shopify/shopifytest"
	"github.com/contactsync/contactsync/pkg/source"
)

// bulkClient is a client whose PlanBulk runs a bulk operation, polling
// the fake every few milliseconds.
func bulkClient(t testing.TB, s *shopifytest.Server, lines int, version string) *shopify.Client {
	t.Helper()
	c, err := shopify.New(shopify.Config{ShopDomain: s.Domain(), AccessToken: s.AccessToken(), APIBaseURL: s.URL(), APIVersion: version,
		Bulk: true, BulkLinesPerRange: lines, BulkPollInterval: 2 * time.Millisecond}, source.Options{ConnectionID: "c1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fetchFanout fetches every cursor of a fan-out plan with workers in
// parallel, each cursor twice (as a retried message would be), checks both
// fetches return the same records, and returns the records in plan order.
func fetchFanout(t testing.TB, c *shopify.Client, plan source.Plan, workers int) []source.Record {
	t.Helper()
	pages := make([][]source.Record, len(plan.Fanout))
	errs := make([]error, len(plan.Fanout))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				var first []source.Record
				for try := range 2 {
					p, err := c.FetchPage(context.Background(), plan.Fanout[i])
					switch {
					case err != nil:
						errs[i] = err
					case p.Next != "":
						errs[i] = errors.New("a range page names a next cursor")
					case try == 0:
						first = p.Records
					case !reflect.DeepEqual(first, p.Records):
						errs[i] = errors.New("a refetched range returned other records")
					}
				}
				pages[i] = first
			}
		})
	}
	for i := range plan.Fanout {
		next <- i
	}
	close(next)
	wg.Wait()
	var all []source.Record
	for i, p := range pages {
		if errs[i] != nil {
			t.Fatalf("range %d: %v", i, errs[i])
		}
		all = append(all, p...)
	}
	return all
}

func TestBulkPlan_EveryCustomerOnceAndAsChainedDespiteDownloadFaults(t *testing.T) {
	t.Parallel()
	const customers = 10000
	s := shopifytest.NewServer(shopifytest.Options{Customers: customers, Seed: 1, RestoreRate: 1e6, MaxAvailable: 1e6,
		FailEvery: 13, TooManyEvery: 17, CutEvery: 9})
	defer s.Close()
	c := bulkClient(t, s, 700, "")
	plan, err := c.PlanBulk(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if plan.Chained || plan.Total != customers || len(plan.Fanout) < 10 {
		t.Fatalf("plan: chained %v, total %d, %d ranges", plan.Chained, plan.Total, len(plan.Fanout))
	}
	bulk := fetchFanout(t, c, plan, 4)
	if d := s.Downloads(); d <= 2*len(plan.Fanout) {
		t.Fatalf("%d downloads for %d ranges fetched twice: no fault was injected", d, len(plan.Fanout))
	}
	seen := map[string]int{}
	for _, r := range bulk {
		seen[r.ExternalID]++
	}
	if len(seen) != customers || len(bulk) != customers {
		t.Fatalf("%d records, %d distinct customers, want %d", len(bulk), len(seen), customers)
	}

	cc := client(t, s) // Bulk unset: the chained plan
	chained := listAll(t, cc, mustPlan(t, cc))
	if len(chained) != len(bulk) {
		t.Fatalf("chained listing has %d records, bulk %d", len(chained), len(bulk))
	}
	for i := range chained { // both in id order
		if !reflect.DeepEqual(chained[i], bulk[i]) {
			t.Fatalf("record %d differs:\nchained %+v\nbulk    %+v", i, chained[i], bulk[i])
		}
	}
	if n := s.BulkOperations(); n != 1 {
		t.Fatalf("%d bulk operations started, want 1", n)
	}
}

func mustPlan(t *testing.T, c *shopify.Client) source.Plan {
	t.Helper()
	plan, err := c.PlanBulk(context.Background())
	if err != nil || !plan.Chained {
		t.Fatalf("chained plan = %+v, %v", plan, err)
	}
	return plan
}

// TestBulkRanges_AnyTilingListsEachLineOnce cuts one result file into
// ranges at line starts, on the newline bytes, just after line starts, in
// the middle of lines, at random, and one byte at a time, and checks each
// tiling lists exactly the records of the whole file, in order — with a
// server that honours Range (206), the same with a slack shorter than a
// line (each range's last line is finished by further requests), and a
// server that ignores Range (200).
func TestBulkRanges_AnyTilingListsEachLineOnce(t *testing.T) {
	t.Parallel()
	for _, v := range []struct {
		ignore bool
		slack  int64
	}{{false, 0}, {false, 64}, {true, 0}} {
		ignore := v.ignore
		s := shopifytest.NewServer(shopifytest.Options{Customers: 300, Seed: 5, IgnoreRange: ignore})
		defer s.Close()
		c := bulkClient(t, s, 1000, "")
		shopify.SetRangeSlack(c, v.slack)
		plan, err := c.PlanBulk(context.Background())
		if err != nil || len(plan.Fanout) != 1 || plan.Total != 300 {
			t.Fatalf("plan = %d ranges, total %d, %v", len(plan.Fanout), plan.Total, err)
		}
		url, _, _, err := shopify.DecodeRangeCursor(plan.Fanout[0])
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		file, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		size := int64(len(file))
		fetches := 0
		fetch := func(start, end int64) []source.Record {
			t.Helper()
			fetches++
			p, err := c.FetchPage(context.Background(), shopify.RangeCursor(url, start, end))
			if err != nil {
				t.Fatalf("range %d-%d: %v", start, end, err)
			}
			return p.Records
		}
		want := fetch(0, size)
		if len(want) != 300 {
			t.Fatalf("whole file: %d records", len(want))
		}

		var starts, newlines, mids []int64
		for i := int64(0); i < size; i++ {
			if i == 0 || file[i-1] == '\n' {
				starts = append(starts, i)
			}
			if file[i] == '\n' {
				newlines = append(newlines, i)
			}
		}
		for i, st := range starts {
			end := size
			if i+1 < len(starts) {
				end = starts[i+1]
			}
			mids = append(mids, (st+end)/2)
		}
		plusOne := make([]int64, len(starts))
		for i, st := range starts {
			plusOne[i] = st + 1
		}
		rng := rand.New(rand.NewPCG(7, 9))
		random := make([]int64, 40)
		for i := range random {
			random[i] = rng.Int64N(size)
		}
		second := starts[1]
		third := starts[2]
		oneByte := []int64{}
		for b := second; b <= third; b++ {
			oneByte = append(oneByte, b) // line 2 cut into one-byte ranges
		}
		for _, tc := range []struct {
			name string
			cuts []int64
		}{
			{"each line its own range (boundaries at line starts)", starts},
			{"boundaries on the newline bytes", newlines},
			{"boundaries one byte into a line", plusOne},
			{"boundaries mid-line", mids},
			{"random boundaries", random},
			{"one-byte ranges", oneByte},
			{"a range starting at the last byte", []int64{size - 1}},
		} {
			cuts := append([]int64{0}, tc.cuts...)
			cuts = append(cuts, size+100) // the last range may end past the file
			slices.Sort(cuts)
			var got []source.Record
			for i := 0; i+1 < len(cuts); i++ {
				if cuts[i] == cuts[i+1] {
					continue
				}
				got = append(got, fetch(cuts[i], cuts[i+1])...)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("ignoreRange=%v slack=%d, %s: %d records, want the file's %d in order", ignore, v.slack, tc.name, len(got), len(want))
			}
		}
		if recs := fetch(size, size+10); len(recs) != 0 {
			t.Fatalf("ignoreRange=%v, a range at the end of the file: %d records", ignore, len(recs))
		}
		// One request per range (plus the whole-file GET above), unless the
		// slack is shorter than a line.
		if d := s.Downloads(); (v.slack == 0) != (d == fetches+1) {
			t.Fatalf("ignoreRange=%v slack=%d: %d downloads for %d range fetches", ignore, v.slack, d, fetches)
		}
		if !ignore {
			var he *httpx.Error
			if _, err := c.FetchPage(context.Background(), shopify.RangeCursor(url, size+5, size+10)); !errors.As(err, &he) || he.Status != http.StatusRequestedRangeNotSatisfiable {
				t.Fatalf("a range past the end of the file: %v", err)
			}
		}
	}
}

func TestBulkPlan_EmptyStore(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewServer(shopifytest.Options{Customers: 0})
	defer s.Close()
	plan, err := bulkClient(t, s, 0, "").PlanBulk(context.Background())
	if err != nil || len(plan.Fanout) != 0 || plan.Total != 0 || plan.Chained {
		t.Fatalf("empty store plan = %+v, %v", plan, err)
	}
}

func TestBulkPlan_FailedOperationIsAnError(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"INTERNAL_SERVER_ERROR", "ACCESS_DENIED"} {
		s := shopifytest.NewServer(shopifytest.Options{Customers: 10, BulkFailure: code})
		defer s.Close()
		_, err := bulkClient(t, s, 0, "").PlanBulk(context.Background())
		var be *shopify.BulkOperationError
		if !errors.As(err, &be) || be.Status != "FAILED" || be.ErrorCode != code {
			t.Fatalf("%s: err = %v", code, err)
		}
		if errors.Is(err, shopify.ErrUnauthorized) != (code == "ACCESS_DENIED") {
			t.Fatalf("%s: errors.Is(err, ErrUnauthorized) = %v", code, errors.Is(err, shopify.ErrUnauthorized))
		}
	}
}

func TestBulkPlan_ReusesOurRunningOperation(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewServer(shopifytest.Options{Customers: 50, HoldBulk: true})
	defer s.Close()
	c := bulkClient(t, s, 0, "")
	// A plan attempt whose deadline passes while the export runs (held
	// open by the fake until released)...
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.PlanBulk(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("plan past its deadline: %v", err)
	}
	// ...and its retry, which waits for the same operation: the fake lets
	// the export complete once the retry has read it at least twice.
	polls := s.BulkPolls()
	go func() {
		// Released at the latest after a minute, so a retry that never
		// polls fails the test's assertions instead of hanging it.
		for deadline := time.Now().Add(time.Minute); s.BulkPolls() < polls+2 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		s.ReleaseBulk()
	}()
	plan, err := c.PlanBulk(context.Background())
	if err != nil || plan.Total != 50 {
		t.Fatalf("retried plan = %+v, %v", plan, err)
	}
	if n := s.BulkOperations(); n != 1 {
		t.Fatalf("%d bulk operations started, want the running one reused", n)
	}
}

// With BulkWait, a plan whose export is still running answers "not ready,
// ask again in …" (source.NotReadyError) instead of blocking; asking again
// reuses the same export and plans it once it has completed.
func TestBulkPlan_NotReadyWhileTheExportRuns(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewServer(shopifytest.Options{Customers: 50, HoldBulk: true})
	defer s.Close()
	c, err := shopify.New(shopify.Config{ShopDomain: s.Domain(), AccessToken: s.AccessToken(), APIBaseURL: s.URL(),
		Bulk: true, BulkPollInterval: 50 * time.Millisecond, BulkWait: 100 * time.Millisecond}, source.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The fake holds the export open: the plan gives up after BulkWait
	// (it would block until the test's deadline if it ignored it).
	_, err = c.PlanBulk(context.Background())
	var nr *source.NotReadyError
	if !errors.As(err, &nr) || nr.RetryAfter <= 0 {
		t.Fatalf("plan while the export runs: %v, want a NotReadyError with a delay", err)
	}
	if !strings.HasPrefix(nr.Resume, "gid://shopify/BulkOperation/") {
		t.Fatalf("resume token %q does not name the bulk operation", nr.Resume)
	}
	// Still held: resuming answers not ready again.
	if _, err := c.ResumePlan(context.Background(), nr.Resume); !errors.As(err, &nr) {
		t.Fatalf("resumed while the export is held: %v, want a NotReadyError", err)
	}
	s.ReleaseBulk()
	var plan source.Plan
	for start := time.Now(); time.Since(start) < time.Minute; {
		time.Sleep(nr.RetryAfter)
		if plan, err = c.ResumePlan(context.Background(), nr.Resume); !errors.As(err, &nr) {
			break
		}
	}
	if err != nil || plan.Total != 50 {
		t.Fatalf("plan after the export = %+v, %v", plan, err)
	}
	if n := s.BulkOperations(); n != 1 {
		t.Fatalf("%d bulk operations started, want the running one resumed", n)
	}
	// Resuming again plans the same (completed) export...
	if plan, err = c.ResumePlan(context.Background(), nr.Resume); err != nil || plan.Total != 50 || s.BulkOperations() != 1 {
		t.Fatalf("resumed again: %+v, %v (%d operations)", plan, err, s.BulkOperations())
	}
	// ...while a new plan (a new sync) wants a new snapshot.
	if _, err := c.PlanBulk(context.Background()); (err != nil && !errors.As(err, &nr)) || s.BulkOperations() != 2 {
		t.Fatalf("a new plan: %v (%d operations), want a second export", err, s.BulkOperations())
	}
}

func TestBulkPlan_ReusesOurRecentCompletedExport(t *testing.T) {
	t.Parallel()
	// With BulkReuseWithin set: an earlier attempt timed out, and its
	// export completed before the retry.
	s := shopifytest.NewServer(shopifytest.Options{Customers: 40, BulkDelay: -1})
	defer s.Close()
	s.StartBulkQuery(shopify.BulkCustomersQuery)
	reuser, err := shopify.New(shopify.Config{ShopDomain: s.Domain(), AccessToken: s.AccessToken(), APIBaseURL: s.URL(), Bulk: true,
		BulkPollInterval: 2 * time.Millisecond, BulkReuseWithin: time.Hour}, source.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := reuser.PlanBulk(context.Background())
	if err != nil || plan.Total != 40 || s.BulkOperations() != 1 {
		t.Fatalf("plan = %+v, %v (%d operations), want the completed export reused", plan, err, s.BulkOperations())
	}
	// One older than BulkReuseWithin is not reused.
	c, err := shopify.New(shopify.Config{ShopDomain: s.Domain(), AccessToken: s.AccessToken(), APIBaseURL: s.URL(), Bulk: true,
		BulkPollInterval: 2 * time.Millisecond, BulkReuseWithin: time.Nanosecond}, source.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if plan, err := c.PlanBulk(context.Background()); err != nil || plan.Total != 40 || s.BulkOperations() != 2 {
		t.Fatalf("plan = %+v, %v (%d operations), want a new export", plan, err, s.BulkOperations())
	}
	// Nor is a completed export of another query.
	s.StartBulkQuery(`{ products { edges { node { id } } } }`)
	if plan, err := reuser.PlanBulk(context.Background()); err != nil || plan.Total != 40 || s.BulkOperations() != 4 {
		t.Fatalf("plan = %+v, %v (%d operations), want a new export", plan, err, s.BulkOperations())
	}
}

func TestBulkPlan_AnotherOperationInProgress(t *testing.T) {
	t.Parallel()
	other := `{ products { edges { node { id } } } }`
	// Before 2026-01 one bulk query runs at a time: someone else's is
	// running, so ours cannot start (retry later).
	s := shopifytest.NewServer(shopifytest.Options{Customers: 20, BulkDelay: time.Minute})
	defer s.Close()
	s.StartBulkQuery(other)
	if _, err := bulkClient(t, s, 0, "2025-10").PlanBulk(context.Background()); !errors.Is(err, shopify.ErrBulkBusy) {
		t.Fatalf("2025-10 with another bulk query running: %v", err)
	}
	// From 2026-01 up to five run at once: ours starts beside it.
	s2 := shopifytest.NewServer(shopifytest.Options{Customers: 20, BulkDelay: 30 * time.Millisecond})
	defer s2.Close()
	s2.StartBulkQuery(other)
	plan, err := bulkClient(t, s2, 0, "2026-07").PlanBulk(context.Background())
	if err != nil || plan.Total != 20 || s2.BulkOperations() != 2 {
		t.Fatalf("2026-07 beside another bulk query: %+v, %v (%d operations)", plan, err, s2.BulkOperations())
	}
}

func TestBulkCursor_JunkRejected(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewServer(shopifytest.Options{Customers: 5})
	defer s.Close()
	c := bulkClient(t, s, 0, "")
	enc := func(js string) source.Cursor {
		return source.Cursor("sb1." + base64.RawURLEncoding.EncodeToString([]byte(js)))
	}
	for _, cur := range []source.Cursor{"", "junk", "sb1.", "sb1.!!!", "sh1.%%", "sb2.e30", enc(`{}`), enc(`[1]`),
		enc(`{"u":"ftp://h/x","s":0,"e":10}`), enc(`{"u":"http:///x","s":0,"e":10}`), enc(`{"u":"http://h/x","s":5,"e":5}`),
		enc(`{"u":"http://h/x","s":-1,"e":5}`), enc(`{"u":"http://h/x","s":"0","e":5}`)} {
		if _, err := c.FetchPage(context.Background(), cur); !errors.Is(err, shopify.ErrInvalidCursor) {
			t.Errorf("cursor %q: %v", cur, err)
		}
	}
	if d := s.Downloads(); d != 0 {
		t.Fatalf("junk cursors caused %d downloads", d)
	}
}

func TestBulkDownload_ErrorsHoldNoSignedURL(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewServer(shopifytest.Options{Customers: 5})
	defer s.Close()
	c := bulkClient(t, s, 0, "")
	plan, err := c.PlanBulk(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	url, start, end, _ := shopify.DecodeRangeCursor(plan.Fanout[0])
	tampered := url[:len(url)-4] + "0000"
	var he *httpx.Error
	_, err = c.FetchPage(context.Background(), shopify.RangeCursor(tampered, start, end))
	if !errors.As(err, &he) || he.Status != http.StatusForbidden || strings.Contains(err.Error(), "token") {
		t.Fatalf("tampered url: %v", err)
	}
	// A network error from net/http names the URL: the query is removed.
	_, nerr := http.Get("http://127.0.0.1:1/bulk/1.jsonl?token=secret")
	if nerr == nil || !strings.Contains(nerr.Error(), "secret") {
		t.Fatalf("expected a network error naming the url, got %v", nerr)
	}
	if red := shopify.RedactErr(nerr); strings.Contains(red.Error(), "secret") || !strings.Contains(red.Error(), "/bulk/1.jsonl") {
		t.Fatalf("redacted: %v", red)
	}
}

// Resuming an export that is gone (or failed) starts a new one rather than
// failing the plan for good.
func TestBulkPlan_ResumeOfAGoneExportStartsANewOne(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewServer(shopifytest.Options{Customers: 30})
	defer s.Close()
	c := bulkClient(t, s, 0, "")
	plan, err := c.ResumePlan(context.Background(), "gid://shopify/BulkOperation/987654321")
	if err != nil || plan.Total != 30 || s.BulkOperations() != 1 {
		t.Fatalf("resume of a gone export = %+v, %v (%d operations), want a new export planned", plan, err, s.BulkOperations())
	}
}
