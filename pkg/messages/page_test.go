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
		{Seq: 3, Window: 2, Pages: 5, Block: 3}, {Seq: 3, Window: 2, Pages: 5, Block: -1},
	} {
		m := good
		m.Seq, m.Window, m.Pages, m.Block = bad.Seq, bad.Window, bad.Pages, bad.Block
		if m.Validate() == nil {
			t.Errorf("page %d of %d, window %d, block %d: accepted", m.Seq, m.Pages, m.Window, m.Block)
		}
	}
	if g := good.MessageGroup(); g != "t_1" {
		t.Errorf("MessageGroup = %q, want the tenant", g)
	}
	if g := (Outbox{TenantID: "t_2"}).MessageGroup(); g != "t_2" {
		t.Errorf("Outbox MessageGroup = %q, want the tenant", g)
	}
}

// TestPage_ReleasesEveryPlacePastTheWindowOnce: for windows, blocks and
// plan sizes, the places the plan's pages release cover every place past
// the window exactly once, each released by an earlier place; with no
// block (a message from before blocks) each place releases the one a
// window after it.
func TestPage_ReleasesEveryPlacePastTheWindowOnce(t *testing.T) {
	for _, c := range []struct{ window, block int }{{20, 10}, {3, 3}, {5, 2}, {20, 0}, {2, 1}, {7, 7}} {
		for pages := c.window + 1; pages <= 4*c.window+3; pages++ {
			by := map[int]int{}
			for seq := 1; seq <= pages; seq++ {
				m := Page{Seq: seq, Window: c.window, Pages: pages, Block: c.block}
				from, to, ok := m.Releases()
				if !ok {
					continue
				}
				for p := from; p <= to; p++ {
					if prev, dup := by[p]; dup {
						t.Fatalf("window %d, block %d, %d pages: place %d released by %d and %d", c.window, c.block, pages, p, prev, seq)
					}
					if p <= seq || p <= c.window {
						t.Fatalf("window %d, block %d, %d pages: place %d released by place %d", c.window, c.block, pages, p, seq)
					}
					by[p] = seq
				}
				if c.block > 0 && to-from+1 > c.block {
					t.Fatalf("window %d, block %d: place %d releases %d places", c.window, c.block, seq, to-from+1)
				}
			}
			if len(by) != pages-c.window {
				t.Fatalf("window %d, block %d, %d pages: %d places released, want %d", c.window, c.block, pages, len(by), pages-c.window)
			}
		}
	}
	if _, _, ok := (Page{}).Releases(); ok {
		t.Error("a page outside any window releases places")
	}
}
