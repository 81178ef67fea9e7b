package sinch_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/sinch"
	"github.com/contactsync/contactsync/pkg/sms/sinch/sinchtest"
)

// TestVerify_Vectors runs testdata/hmac-vectors.json (sinch-sdk-dotnet
// inputs and one derived over the MO fixture; sources in the .md).
func TestVerify_Vectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/hmac-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []struct {
			Name, Secret, Nonce, Timestamp, Body, Expected string
			BodyFile                                       string `json:"body_file"`
		}
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Vectors {
		body := []byte(v.Body)
		if v.BodyFile != "" {
			if body, err = os.ReadFile("testdata/" + v.BodyFile); err != nil {
				t.Fatal(err)
			}
		}
		h := http.Header{}
		h.Set(sinch.HeaderSignature, v.Expected)
		h.Set(sinch.HeaderNonce, v.Nonce)
		h.Set(sinch.HeaderTimestamp, v.Timestamp)
		// The vectors verify with the clock at their timestamp.
		sec, err := strconv.ParseInt(v.Timestamp, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Unix(sec, 0)
		if err := sinch.Verify(v.Secret, "", "", h, body, at); err != nil {
			t.Errorf("%s: %v", v.Name, err)
		}
		// and only within the replay window of it: a captured callback
		// used to verify forever.
		for _, now := range []time.Time{at.Add(sinch.ReplayWindow), at.Add(-sinch.ReplayWindow)} {
			if err := sinch.Verify(v.Secret, "", "", h, body, now); err != nil {
				t.Errorf("%s at %v: %v", v.Name, now.Sub(at), err)
			}
		}
		for _, now := range []time.Time{at.Add(sinch.ReplayWindow + time.Second), at.Add(-sinch.ReplayWindow - time.Second), at.Add(22 * time.Hour)} {
			if err := sinch.Verify(v.Secret, "", "", h, body, now); !errors.Is(err, sinch.ErrStale) || !errors.Is(err, sms.ErrInvalidSignature) {
				t.Errorf("%s at %v: err = %v, want ErrStale", v.Name, now.Sub(at), err)
			}
		}
		flipped := append([]byte{}, body...)
		flipped[1] ^= 1
		if sinch.Verify(v.Secret, "", "", h, flipped, at) == nil {
			t.Errorf("%s: changed byte verified", v.Name)
		}
		h.Set(sinch.HeaderNonce, v.Nonce+"x")
		if sinch.Verify(v.Secret, "", "", h, body, at) == nil {
			t.Errorf("%s: changed nonce verified", v.Name)
		}
		h.Del(sinch.HeaderSignature)
		if sinch.Verify(v.Secret, "", "", h, body, at) == nil {
			t.Errorf("%s: missing header verified", v.Name)
		}
	}
	if sinch.Verify("", "tok", "tok", nil, nil, time.Time{}) != nil || sinch.Verify("", "tok", "nope", nil, nil, time.Time{}) == nil || sinch.Verify("", "", "", nil, nil, time.Time{}) == nil {
		t.Error("URL token check wrong")
	}
}

func TestParseInbound_FixtureAddsPlus(t *testing.T) {
	b, err := os.ReadFile("testdata/sms-inbound-mo-text.sdk.json")
	if err != nil {
		t.Fatal(err)
	}
	in, err := sinch.ParseInbound(b)
	if err != nil {
		t.Fatal(err)
	}
	if in.From != "+16051234567" || in.To != "+13185551234" || in.Text != "This is a test message." || in.MessageID != "01XXXXX21XXXXX119Z8P1XXXXX" || in.ReceivedAt.IsZero() {
		t.Fatalf("inbound = %+v", in)
	}
	if _, err := sinch.ParseInbound([]byte(`{"type":"mo_binary","id":"1","from":"1605"}`)); !errors.Is(err, sms.ErrUnsupported) {
		t.Fatalf("binary MO: %v", err)
	}
	for _, bad := range []string{`{`, `{"type":"mo_text"}`, `{"type":"mo_text","id":"1","from":"12"}`} {
		if _, err := sinch.ParseInbound([]byte(bad)); !errors.Is(err, sms.ErrMalformed) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestSend_RetryThenPermanent(t *testing.T) {
	f := sinchtest.NewServer(sinchtest.Options{})
	defer f.Close()
	plan, token := f.Credentials()
	c := sinch.NewClient(f.URL(), plan, token, nil)
	f.FailNext(2)
	res, err := c.Send(context.Background(), sms.Message{To: "+61412345678", From: "+61400000000", Text: "hi", Reference: "ref-1"})
	if err != nil || res.ProviderMessageID == "" || len(f.Sent()) != 1 || f.Sent()[0].Reference != "ref-1" {
		t.Fatalf("send = %+v %v %+v", res, err, f.Sent())
	}
	bad := sinch.NewClient(f.URL(), plan, "wrong", nil)
	var se *httpx.Error
	if _, err := bad.Send(context.Background(), sms.Message{To: "+1", Text: "x"}); !errors.As(err, &se) || !se.Permanent() {
		t.Fatalf("bad token: %v", err)
	}
}

func FuzzParseInbound(f *testing.F) {
	f.Add([]byte(`{"type":"mo_text","id":"1","from":"16051234567","to":"1","body":"STOP"}`))
	f.Add([]byte(`{"type":"mo_media"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := sinch.ParseInbound(b)
		if err == nil && (in.MessageID == "" || in.From == "") {
			t.Fatalf("accepted %+v", in)
		}
	})
}
