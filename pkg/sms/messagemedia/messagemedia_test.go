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
	var got []error
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := messagemedia.Verify(f.PublicKeyPEM(), "", "", r.URL.Path, r.Header, body)
		got = append(got, err)
		tampered := append([]byte{}, body...)
		tampered[3] ^= 1
		got = append(got, messagemedia.Verify(f.PublicKeyPEM(), "", "", r.URL.Path, r.Header, tampered))
		got = append(got, messagemedia.Verify(f.PublicKeyPEM(), "", "", r.URL.Path+"x", r.Header, body))
		r.Header.Del(messagemedia.HeaderSignature)
		got = append(got, messagemedia.Verify(f.PublicKeyPEM(), "", "", r.URL.Path, r.Header, body))
	}))
	defer hook.Close()
	if _, _, err := f.SendReply(context.Background(), hook.URL+"/sms/inbound/messagemedia/t1", "+61412345678", "+61400000000", "YES", ""); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0] != nil || got[1] == nil || got[2] == nil || got[3] == nil {
		t.Fatalf("verify results %v: want valid, then changed byte, changed path and missing header refused", got)
	}
	if messagemedia.Verify("", "tok", "tok", "/", nil, nil) != nil || messagemedia.Verify("", "tok", "x", "/", nil, nil) == nil || messagemedia.Verify("", "", "", "/", nil, nil) == nil {
		t.Fatal("URL token check wrong")
	}
}

func TestSend_RetryThenPermanent(t *testing.T) {
	f := messagemediatest.NewServer(messagemediatest.Options{})
	defer f.Close()
	key, secret := f.Credentials()
	c, err := messagemedia.NewClient(f.URL(), key, secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.FailNext(1)
	res, err := c.Send(context.Background(), sms.Message{To: "+61412345678", Text: "hi", Reference: "ref-9"})
	if err != nil || res.ProviderMessageID == "" || len(f.Sent()) != 1 || f.Sent()[0].Reference != "ref-9" {
		t.Fatalf("send = %+v %v %+v", res, err, f.Sent())
	}
	bad, _ := messagemedia.NewClient(f.URL(), key, "wrong", nil)
	var se *sms.SendError
	if _, err := bad.Send(context.Background(), sms.Message{To: "+61412345678", Text: "x"}); !errors.As(err, &se) || !se.Permanent {
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
