package source

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate_CountsCharactersNotBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"ééééé", 3, "ééé"},
		{"日本語テキスト", 2, "日本"},
		{"a😀b", 2, "a😀"},
		{"", 3, ""},
	} {
		if got := Truncate(tc.in, tc.n); got != tc.want || !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestBound(t *testing.T) {
	tags := make([]string, 10000)
	for i := range tags {
		tags[i] = fmt.Sprintf("%05d-%s", i, strings.Repeat("😀", 150))
	}
	r := Record{
		ExternalID: "42", FirstName: strings.Repeat("é", 600), LastName: " Doe ",
		Emails: []string{"a@example.com"}, Groups: tags, AddGroups: []string{"ok"},
		Phones: []PhoneField{{Raw: strings.Repeat("1", 100)}, {Raw: "0412 345 678", Country: "AU"}},
		Fields: map[string]string{"bio": strings.Repeat("x", 5000), strings.Repeat("k", 100): "v"},
	}
	callerTags := r.Groups
	notes, invalid := Bound(&r)
	if invalid != "" {
		t.Fatalf("invalid %q", invalid)
	}
	if want := []string{NoteNameTruncated, NotePhonesTruncated, NoteGroupsTruncated, NoteFieldsTruncated}; strings.Join(notes, ",") != strings.Join(want, ",") {
		t.Errorf("notes %v, want %v", notes, want)
	}
	if r.FirstName != strings.Repeat("é", MaxNameRunes) || r.LastName != " Doe " {
		t.Errorf("names %q %q", r.FirstName, r.LastName)
	}
	size := 0
	for _, g := range r.Groups {
		size += len(g)
		if utf8.RuneCountInString(g) > MaxGroupNameRunes || !utf8.ValidString(g) {
			t.Fatalf("group %q", g)
		}
	}
	if len(r.Groups) == 0 || len(r.Groups) > MaxGroups || size > MaxGroupBytes || !strings.HasPrefix(r.Groups[0], "00000-") {
		t.Errorf("%d groups of %d bytes", len(r.Groups), size)
	}
	if len(callerTags) != 10000 || callerTags[0] != tags[0] {
		t.Error("Bound wrote through the caller's slice")
	}
	if len(r.Phones) != 1 || r.Phones[0].Raw != "0412 345 678" {
		t.Errorf("phones %+v: an over-long phone is dropped, never cut", r.Phones)
	}
	if len(r.Fields) != 1 || utf8.RuneCountInString(r.Fields["bio"]) != MaxFieldValueRunes {
		t.Errorf("fields: %d", len(r.Fields))
	}
	// Cutting is deterministic: a removal names what the addition did.
	add := Record{ExternalID: "1", AddGroups: []string{strings.Repeat("ü", 300)}}
	rm := Record{ExternalID: "1", RemoveGroups: []string{strings.Repeat("ü", 300)}}
	Bound(&add)
	Bound(&rm)
	if add.AddGroups[0] != rm.RemoveGroups[0] {
		t.Error("the same long group name is cut differently")
	}
}

func TestBound_Invalid(t *testing.T) {
	for name, r := range map[string]Record{
		"email over 254 characters":  {ExternalID: "1", Emails: []string{"ok@example.com", strings.Repeat("a", 250) + "@example.com"}},
		"external id over its limit": {ExternalID: strings.Repeat("9", MaxExternalIDBytes+1)},
		"external id not UTF-8":      {ExternalID: "\xff\xfe"},
	} {
		_, invalid := Bound(&r)
		if invalid == "" {
			t.Errorf("%s: accepted", name)
		}
		if len(r.ExternalID) > MaxExternalIDBytes || !utf8.ValidString(r.ExternalID) {
			t.Errorf("%s: external id for display is %d bytes", name, len(r.ExternalID))
		}
	}
	ok := Record{ExternalID: "1", Emails: []string{strings.Repeat("ü", 240) + "@example.com"}}
	if _, invalid := Bound(&ok); invalid != "" {
		t.Error("a 252-character email counted in characters must pass Bound")
	}
}
