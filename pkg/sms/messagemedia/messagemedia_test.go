package messagemedia_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/messagemedia"
	"github.com/contactsync/contactsync/pkg/sms/messagemedia/messagemediatest"
)

// The reply fields are those of GET /v1/replies (testdata, docs; source in
// the .md): each element parses.
func TestParseInbound_DocsReplies(t *testing.T) {
	b, err := os.ReadFile("testdata/check-replies-response.docs.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Replies []json.RawMessage }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	in, err := messagemedia.ParseInbound(doc.Replies[0])
	if err != nil {
		t.Fatal(err)
	}
	if in.MessageID != "a175e797-2b54-468b-9850-41a3eab32f74" || in.From != "+61491570157" || in.To != "+61491570156" || in.Text != "My first reply!" || in.ReceivedAt.IsZero() {
		t.Fatalf("inbound = %+v", in)
	}
	for _, bad := range []string{`{`, `{"reply_id":"x","source_number":"0412"}`, `{"source_number":"+61412345678"}`} {
		if _, err := messagemedia.ParseInbound([]byte(bad)); !errors.Is(err, sms.ErrMalformed) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestVerify_SignedRepliesAndURLToken(t *testing.T) {
	f := messagemediatest.NewServer(messagemediatest.Options{Sign: true})
	defer f.Close()
	var got, stale []error
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		// The clock is the signed Date itself; the replay window is
		// tested on either side of it.
		at, _ := http.ParseTime(r.Header.Get("Date"))
		err := messagemedia.Verify(f.PublicKeyPEM(), "", "", r.URL.Path, r.Header, body, at)
		got = append(got, err)
		tampered := append([]byte{}, body...)
		tampered[3] ^= 1
		got = append(got, messagemedia.Verify(f.PublicKeyPEM(), "", "", r.URL.Path, r.Header, tampered, at))
		got = append(got, messagemedia.Verify(f.PublicKeyPEM(), "", "", r.URL.Path+"x", r.Header, body, at))
		stale = append(stale,
			messagemedia.Verify(f.PublicKeyPEM(), "", "", r.URL.Path, r.Header, body, at.Add(messagemedia.ReplayWindow)),
			messagemedia.Verify(f.PublicKeyPEM(), "", "", r.URL.Path, r.Header, body, at.Add(-messagemedia.ReplayWindow)),
			messagemedia.Verify(f.PublicKeyPEM(), "", "", r.URL.Path, r.Header, body, at.Add(messagemedia.ReplayWindow+time.Second)),
			messagemedia.Verify(f.PublicKeyPEM(), "", "", r.URL.Path, r.Header, body, at.Add(-messagemedia.ReplayWindow-time.Second)))
		r.Header.Del(messagemedia.HeaderSignature)
		got = append(got, messagemedia.Verify(f.PublicKeyPEM(), "", "", r.URL.Path, r.Header, body, at))
	}))
	defer hook.Close()
	if _, _, err := f.SendReply(context.Background(), hook.URL+"/sms/inbound/messagemedia/t1", "+61412345678", "+61400000000", "YES", ""); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0] != nil || got[1] == nil || got[2] == nil || got[3] == nil {
		t.Fatalf("verify results %v: want valid, then changed byte, changed path and missing header refused", got)
	}
	// A validly signed reply is accepted only within the replay window of
	// its Date: a captured one used to verify forever.
	if len(stale) != 4 || stale[0] != nil || stale[1] != nil || !errors.Is(stale[2], messagemedia.ErrStale) || !errors.Is(stale[3], messagemedia.ErrStale) ||
		!errors.Is(stale[2], sms.ErrInvalidSignature) {
		t.Fatalf("replay window results %v: want the window's edges valid, a second beyond either refused as stale", stale)
	}
	if messagemedia.Verify("", "tok", "tok", "/", nil, nil, time.Time{}) != nil || messagemedia.Verify("", "tok", "x", "/", nil, nil, time.Time{}) == nil || messagemedia.Verify("", "", "", "/", nil, nil, time.Time{}) == nil {
		t.Fatal("URL token check wrong")
	}
}

func TestSend_RetryThenPermanent(t *testing.T) {
	f := messagemediatest.NewServer(messagemediatest.Options{})
	defer f.Close()
	key, secret := f.Credentials()
	c := messagemedia.NewClient(f.URL(), key, secret, nil)
	f.FailNext(1)
	res, err := c.Send(context.Background(), sms.Message{To: "+61412345678", Text: "hi", Reference: "ref-9"})
	if err != nil || res.ProviderMessageID == "" || len(f.Sent()) != 1 || f.Sent()[0].Reference != "ref-9" {
		t.Fatalf("send = %+v %v %+v", res, err, f.Sent())
	}
	bad := messagemedia.NewClient(f.URL(), key, "wrong", nil)
	var se *httpx.Error
	if _, err := bad.Send(context.Background(), sms.Message{To: "+61412345678", Text: "x"}); !errors.As(err, &se) || !se.Permanent() {
		t.Fatalf("bad secret: %v", err)
	}
}

func FuzzParseInbound(f *testing.F) {
	f.Add([]byte(`{"reply_id":"r","source_number":"+61412345678","content":"STOP"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := messagemedia.ParseInbound(b)
		if err == nil && (in.MessageID == "" || in.From == "") {
			t.Fatalf("accepted %+v", in)
		}
	})
}
