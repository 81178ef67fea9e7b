package messages

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/contactsync/contactsync/pkg/source"
)

// Pages-queue message kinds.
const (
	KindPlan = "plan"
	KindPage = "page"
)

// Page is one pages-queue message.
type Page struct {
	V            int           `json:"v"`
	Kind         string        `json:"kind"`
	TenantID     string        `json:"tenantId"`
	ConnectionID string        `json:"connectionId"`
	RunID        string        `json:"runId"`
	Incremental  bool          `json:"incremental,omitempty"`
	Since        time.Time     `json:"since,omitzero"`
	Cursor       source.Cursor `json:"cursor,omitempty"`
	PageID       string        `json:"pageId,omitempty"`
	// Attempt counts re-enqueues by our own code (not SQS receives).
	Attempt int `json:"attempt,omitempty"`
	// Resume is a plan message's source.NotReadyError token: the work the
	// platform is preparing for this plan (a Shopify bulk operation id).
	Resume string `json:"resume,omitempty"`
	// The run's page window (pkg/bulksync): a plan of Pages fan-out
	// pages, more than Window, enqueues only its first Window pages; Seq
	// is this page's 1-based place in the plan (a chained page inherits
	// its first page's), and the page that ends it enqueues the places
	// Releases names (store.FanoutCursors): the Block places ending at
	// Seq+Window when Seq is a multiple of Block, none otherwise; with no
	// Block (a message from before blocks), place Seq+Window. All zero:
	// every page was enqueued by the plan.
	Seq    int `json:"seq,omitempty"`
	Window int `json:"window,omitempty"`
	Pages  int `json:"pages,omitempty"`
	Block  int `json:"block,omitempty"`
}

// Releases returns the places of the plan (from to to, inclusive) that
// the page at m's place enqueues when it ends it; ok is false when it
// enqueues none. Every place past the window is released exactly once,
// by the place Window places before its block's last: with Block ≤
// Window that place comes earlier in the plan, so it was itself enqueued.
func (m Page) Releases() (from, to int, ok bool) {
	if m.Seq <= 0 {
		return 0, 0, false
	}
	b := max(m.Block, 1)
	if m.Seq%b != 0 {
		return 0, 0, false
	}
	from, to = m.Seq+m.Window-b+1, min(m.Seq+m.Window, m.Pages)
	return from, to, from <= to
}

// MessageGroup is the message's SQS message group: its tenant, so that a
// fair queue serves the tenants with fewer messages in flight first
// (pkg/queue sets MessageGroupId from it).
func (m Page) MessageGroup() string { return m.TenantID }

// Validate checks a decoded message.
func (m Page) Validate() error {
	switch {
	case m.V != 1:
		return fmt.Errorf("unsupported message version %d", m.V)
	case m.TenantID == "" || m.ConnectionID == "" || m.RunID == "":
		return errors.New("message lacks tenant, connection or run")
	case m.Seq < 0 || m.Window < 0 || m.Pages < 0 || m.Block < 0 || m.Block > m.Window || (m.Seq > 0 && (m.Window == 0 || m.Seq > m.Pages)):
		return fmt.Errorf("invalid page window: page %d of %d, window %d, block %d", m.Seq, m.Pages, m.Window, m.Block)
	case m.Kind == KindPlan:
		return nil
	case m.Kind == KindPage && m.PageID != "":
		return nil
	}
	return fmt.Errorf("invalid message kind %q or missing page id", m.Kind)
}

// PageMessage returns the message for one page of a run.
func PageMessage(plan Page, cur source.Cursor) Page {
	m := plan
	m.Kind = KindPage
	m.Cursor = cur
	m.PageID = PageID(cur)
	m.Attempt = 0
	return m
}

// PageID is the stable id of the page at cur (a cursor fetched twice is the
// same page, so it is counted once).
func PageID(cur source.Cursor) string {
	sum := sha256.Sum256([]byte(cur))
	return hex.EncodeToString(sum[:12])
}
