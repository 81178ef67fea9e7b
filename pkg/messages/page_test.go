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
