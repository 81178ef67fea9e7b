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
}

// Validate checks a decoded message.
func (m Page) Validate() error {
	switch {
	case m.V != 1:
		return fmt.Errorf("unsupported message version %d", m.V)
	case m.TenantID == "" || m.ConnectionID == "" || m.RunID == "":
		return errors.New("message lacks tenant, connection or run")
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
