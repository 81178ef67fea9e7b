package source

import "testing"

func TestCursorRoundTripAndRefusals(t *testing.T) {
	type pos struct {
		Offset int    `json:"o"`
		Tag    string `json:"t,omitempty"`
	}
	cur := NewCursor("xx1.", pos{Offset: 2000, Tag: "VIP"})
	var got pos
	if !cur.Decode("xx1.", &got) || got != (pos{2000, "VIP"}) {
		t.Fatalf("round trip: %q -> %+v", cur, got)
	}
	for _, bad := range []Cursor{"", "xx1", "yy1." + cur[4:], "xx1.!!!", "xx1." + NewCursor("", []int{1})} {
		var p pos
		if bad.Decode("xx1.", &p) {
			t.Errorf("%q decoded as %+v", bad, p)
		}
	}
}
