package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// results is one bench run.
type results struct {
	Settings  settings         `json:"settings"`
	Machine   string           `json:"machine"`
	Started   time.Time        `json:"started"`
	Finished  time.Time        `json:"finished"`
	Emulators emulators        `json:"emulators"`
	Platforms []platformResult `json:"platforms"`
	Units     units            `json:"units"`
	Webhooks  []webhookResult  `json:"webhooks"`
	Stops     stopResult       `json:"stops"`
	Cost      costs            `json:"costPerMillionContacts"`
	// Linear holds the -linear mode's rows (and nothing else is run).
	Linear []linearRow `json:"linear,omitempty"`
}

// units are capacity units per contact by outcome, by AWS's pricing rules.
type units struct {
	WCUNew       float64 `json:"wcuPerNewContact"`
	RCUNew       float64 `json:"rcuPerNewContact"`
	WCUUpdated   float64 `json:"wcuPerUpdatedContact"`
	RCUUpdated   float64 `json:"rcuPerUpdatedContact"`
	WCUUnchanged float64 `json:"wcuPerUnchangedContact"`
	RCUUnchanged float64 `json:"rcuPerUnchangedContact"`
}

// unitsFrom divides each phase's units by the contacts of its outcome:
// installs by created contacts, update passes by updated ones, re-syncs of
// unchanged stores by unchanged ones.
func unitsFrom(ps []platformResult) units {
	var u units
	var created, updated, unchanged int
	var nw, nr, uw, ur, cw, cr float64
	for _, p := range ps {
		created += p.Install.Counts.Created
		nw, nr = nw+p.Install.WCU, nr+p.Install.RCU
		if p.Update != nil {
			updated += p.Update.Counts.Updated
			uw, ur = uw+p.Update.WCU, ur+p.Update.RCU
		}
		unchanged += p.Resync.Counts.Unchanged
		cw, cr = cw+p.Resync.WCU, cr+p.Resync.RCU
	}
	div := func(a float64, n int) float64 {
		if n == 0 {
			return 0
		}
		return a / float64(n)
	}
	u.WCUNew, u.RCUNew = div(nw, created), div(nr, created)
	u.WCUUpdated, u.RCUUpdated = div(uw, updated), div(ur, updated)
	u.WCUUnchanged, u.RCUUnchanged = div(cw, unchanged), div(cr, unchanged)
	return u
}

// markdown renders the one table.
func (r *results) markdown() string {
	var b strings.Builder
	row := func(measure, result, goal string) { fmt.Fprintf(&b, "| %s | %s | %s |\n", measure, result, goal) }
	fmt.Fprintf(&b, "contactsync bench — %s, %d customers per store, %d bulk-sync workers, %s\n\n",
		r.Started.Format("2006-01-02 15:04 UTC"), r.Settings.Size, r.Settings.Workers, r.Machine)
	b.WriteString("| measure | result | goal / bound |\n|---|---|---|\n")
	// A -webhooks-only run measures no ceiling, install or cost: it shows
	// the webhook rows alone rather than zeros.
	whole := !r.Settings.WebhooksOnly
	if whole {
		row("DynamoDB Local ceiling", fmt.Sprintf("%.0f conditional 3-item transactions/s", r.Emulators.DynamoDBTx3PerSecond), "the emulator's own limit, this run")
		row("SQS emulator ceiling", fmt.Sprintf("%.0f messages/s (send, receive, delete)", r.Emulators.SQSMessagesPerSecond), "the emulator's own limit, this run")
	}
	for _, p := range r.Platforms {
		i := p.Install
		row(p.Platform+" install, real default limit", fmt.Sprintf("%d records in %.1f s: **%.0f contacts/s** (%d created, %d invalid)",
			i.Seen, i.WallSeconds, i.PerSecond, i.Counts.Created, i.Counts.Invalid),
			boundText(p))
		row(p.Platform+" install, limits off", fmt.Sprintf("**%.0f contacts/s**", p.Unlimited.PerSecond),
			fmt.Sprintf("%.2f new contacts per emulator transaction/s", p.Unlimited.PerSecond/nonzero(r.Emulators.DynamoDBTx3PerSecond)))
		s := p.Resync
		row(p.Platform+" re-sync, unchanged store", fmt.Sprintf("%.1f s; contact items written/contact **%.3f** (all items %.3f), RCU/contact %.2f",
			s.WallSeconds, s.perContact(float64(s.ContactItems)), s.perContact(float64(s.Items)), s.perContact(s.RCU)), "contact items written: goal 0")
	}
	if u := r.Units; whole {
		row("capacity per new contact", fmt.Sprintf("%.2f WCU, %.2f RCU", u.WCUNew, u.RCUNew), "AWS pricing rules, from the items written")
		row("capacity per updated contact", fmt.Sprintf("%.2f WCU, %.2f RCU", u.WCUUpdated, u.RCUUpdated), "")
		row("capacity per unchanged contact", fmt.Sprintf("%.3f WCU, %.2f RCU", u.WCUUnchanged, u.RCUUnchanged), "goal 0 WCU")
	}
	for _, w := range r.Webhooks {
		exact := "final data **exact**"
		if !w.Exact {
			exact = "final data **NOT exact**: " + w.ExactDetail
		}
		row(fmt.Sprintf("webhooks at %d/s", w.Rate), fmt.Sprintf("%d requests (%d duplicates, %d out of order) for %d customers: p50 **%.1f ms**, p99 **%.1f ms**, %d errors, %d retry-later (409 to a duplicate in flight); %.1f DynamoDB requests, %.1f WCU per delivery; %s",
			w.Requests, w.Duplicates, w.OutOfOrder, w.Customers, w.P50Ms, w.P99Ms, w.Errors, w.RetryLater, w.DynamoDBPerDelivery, w.WCUPerDelivery, exact), "Shopify's 5 s; 0 errors")
	}
	if st := r.Stops; st.Replies > 0 {
		row(fmt.Sprintf("burst of %d STOP replies", st.Replies), fmt.Sprintf("all answered in %.2f s (p50 %.0f ms, p99 %.0f ms, %d errors), all unsubscribed: **%v** (%.2f s); %d confirmations sent in %.1f s",
			st.AnsweredSeconds, st.P50Ms, st.P99Ms, st.Errors, st.AllUnsubscribed, st.UnsubscribedSeconds, st.Confirmations, st.ConfirmedSeconds), "unsubscribed before each reply is answered")
	}
	for _, c := range []struct {
		name string
		c    cost
	}{{"install sync", r.Cost.Install}, {"daily re-sync (unchanged)", r.Cost.Resync}} {
		if !whole {
			break
		}
		row("cost per million contacts, "+c.name, fmt.Sprintf("**$%.2f** (DynamoDB $%.2f, SQS $%.2f, Lambda $%.2f)", c.c.Total, c.c.DynamoDB, c.c.SQS, c.c.Lambda),
			fmt.Sprintf("from %.2f WCU, %.2f RCU, %.3f SQS requests, %.1f ms Lambda at 256 MB arm64 per contact", c.c.WCUPerContact, c.c.RCUPerContact, c.c.SQSRequestsPerContact, 1000*c.c.BilledSecondsPerContact))
	}
	fmt.Fprintf(&b, "\nRun time %s. Prices: DynamoDB on-demand $0.625/M WRU, $0.125/M RRU; SQS $0.40/M requests; Lambda arm64 $0.0000133334/GB-s, $0.20/M requests (us-east-1 list prices, see localstack/bench/cost.go). Lambda time is the handlers' measured duration against the local emulators on this machine.\n",
		r.Finished.Sub(r.Started).Round(time.Second))
	return b.String()
}

func boundText(p platformResult) string {
	if p.Bound == 0 && p.NoLimit {
		return p.Limit + ": no bound"
	}
	if p.Bound == 0 {
		return fmt.Sprintf("%s: the whole store fits in the burst, no bound at this size", p.Limit)
	}
	return fmt.Sprintf("bound %.0f/s (%s): ratio **%.2f** (goal ≥ 0.9)", p.Bound, p.Limit, p.Ratio)
}

func nonzero(f float64) float64 {
	if f == 0 {
		return 1
	}
	return f
}

// write saves results.md and results.json under dir.
func (r *results) write(dir string) (string, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	md, js := filepath.Join(dir, "results.md"), filepath.Join(dir, "results.json")
	if err := os.WriteFile(md, []byte(r.markdown()), 0o644); err != nil {
		return "", "", err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", "", err
	}
	return md, js, os.WriteFile(js, append(b, '\n'), 0o644)
}

// machine describes where the run ran.
func machine() string {
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s/%s, %d CPUs %s, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpu, runtime.Version())
}
