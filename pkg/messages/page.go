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
	// its first page's), and the page that ends it enqueues page
	// Seq+Window (store.FanoutCursor). All zero: every page was enqueued
	// by the plan.
	Seq    int `json:"seq,omitempty"`
	Window int `json:"window,omitempty"`
	Pages  int `json:"pages,omitempty"`
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
	case m.Seq < 0 || m.Window < 0 || m.Pages < 0 || (m.Seq > 0 && (m.Window == 0 || m.Seq > m.Pages)):
		return fmt.Errorf("invalid page window: page %d of %d, window %d", m.Seq, m.Pages, m.Window)
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
