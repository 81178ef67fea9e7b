package messages

import (
	"testing"

	"github.com/contactsync/contactsync/pkg/source"
)

func TestPage_Validate(t *testing.T) {
	good := Page{V: 1, Kind: KindPage, TenantID: "t", ConnectionID: "c", RunID: "r", PageID: "p"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Page{
		{V: 2, Kind: KindPlan, TenantID: "t", ConnectionID: "c", RunID: "r"},
		{V: 1, Kind: KindPage, TenantID: "t", ConnectionID: "c", RunID: "r"},
		{V: 1, Kind: "other", TenantID: "t", ConnectionID: "c", RunID: "r"},
		{V: 1, Kind: KindPlan, ConnectionID: "c", RunID: "r"},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
	first, again := PageID("cursor-a"), PageID(source.Cursor("cursor-"+"a"))
	if first == PageID("cursor-b") || first != again {
		t.Error("PageID not a stable function of the cursor")
	}
}

// TestPage_WindowFieldsAndGroup: a page's place in its plan's window must
// be inside the plan; the message's SQS group is its tenant.
func TestPage_WindowFieldsAndGroup(t *testing.T) {
	good := Page{V: 1, Kind: KindPage, TenantID: "t_1", ConnectionID: "c", RunID: "r", PageID: "p", Seq: 3, Window: 2, Pages: 5}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid windowed page refused: %v", err)
	}
	for _, bad := range []Page{
		{Seq: 6, Window: 2, Pages: 5}, {Seq: 1, Window: 0, Pages: 5}, {Seq: -1}, {Window: -2}, {Pages: -1},
	} {
		m := good
		m.Seq, m.Window, m.Pages = bad.Seq, bad.Window, bad.Pages
		if m.Validate() == nil {
			t.Errorf("page %d of %d, window %d: accepted", m.Seq, m.Pages, m.Window)
		}
	}
	if g := good.MessageGroup(); g != "t_1" {
		t.Errorf("MessageGroup = %q, want the tenant", g)
	}
	if g := (Outbox{TenantID: "t_2"}).MessageGroup(); g != "t_2" {
		t.Errorf("Outbox MessageGroup = %q, want the tenant", g)
	}
}
