package twilio_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/contactsync/contactsync/pkg/httpx"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/twilio"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
)

type vector struct {
	Name       string            `json:"name"`
	AuthToken  string            `json:"auth_token"`
	URL        string            `json:"url"`
	SignedURL  string            `json:"signed_url"`
	Params     map[string]string `json:"params"`
	ParamsFrom string            `json:"params_from"`
	FormBody   string            `json:"form_body"`
	Body       string            `json:"body"`
	BodyFile   string            `json:"body_file"`
	Expected   string            `json:"expected"`
	Valid      string            `json:"expected_valid"`
}

// TestVerify_PublishedVectors runs every vector of
// testdata/signature-vectors.json (twilio-python and twilio-go tests, the
// docs example and one derived inbound body; sources in the .md).
func TestVerify_PublishedVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/signature-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Vectors []vector }
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	byName := map[string]vector{}
	for _, v := range file.Vectors {
		byName[v.Name] = v
	}
	if len(file.Vectors) < 8 {
		t.Fatalf("only %d vectors", len(file.Vectors))
	}
	for _, v := range file.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			params := v.Params
			if v.ParamsFrom != "" {
				params = byName[v.ParamsFrom].Params
			}
			var body []byte
			h := http.Header{}
			switch {
			case v.BodyFile != "":
				b, err := os.ReadFile("testdata/" + v.BodyFile)
				if err != nil {
					t.Fatal(err)
				}
				body = []byte(strings.TrimSpace(string(b)))
			case v.FormBody != "":
				body = []byte(v.FormBody)
			case v.Body != "":
				body = []byte(v.Body)
				h.Set("Content-Type", "application/json")
			default:
				form := url.Values{}
				for k, val := range params {
					form.Set(k, val)
				}
				body = []byte(form.Encode())
			}
			sig := v.Expected
			if sig == "" {
				sig = v.Valid
			}
			h.Set(twilio.HeaderSignature, sig)
			if err := twilio.Verify(v.AuthToken, v.URL, h, body); err != nil {
				t.Fatalf("valid signature rejected: %v", err)
			}
			if h.Get("Content-Type") == "" {
				tampered := append([]byte{}, body...)
				tampered[len(tampered)-1] ^= 1
				if twilio.Verify(v.AuthToken, v.URL, h, tampered) == nil {
					t.Error("changed byte verified")
				}
			}
			if twilio.Verify(v.AuthToken, v.URL+"x", h, body) == nil {
				t.Error("changed URL verified")
			}
			h.Del(twilio.HeaderSignature)
			if twilio.Verify(v.AuthToken, v.URL, h, body) == nil {
				t.Error("missing header verified")
			}
		})
	}
}

func TestParseInbound_FixtureBody(t *testing.T) {
	b, err := os.ReadFile("testdata/inbound-sms.thirdparty-courier.form")
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(strings.TrimSpace(string(b)))
	u := "http://courier.test/c/t/8eb23e93-5ecb-45ba-b726-3b064e0c56ab/receive"
	h := http.Header{}
	h.Set(twilio.HeaderSignature, "trCiGENxB1LiwCqT3Rd5bgU4xDQ=")
	in, err := twilio.ParseInbound("6789", u, h, body)
	if err != nil {
		t.Fatal(err)
	}
	if in.MessageID != "SMe287d7109a5a925f182f0e07fe5b223b" || in.From != "+14133881111" || in.To != "+12028831111" || in.Text != "Msg" {
		t.Fatalf("inbound = %+v", in)
	}
}

func TestTwiML(t *testing.T) {
	if !strings.HasSuffix(twilio.EmptyTwiML(), "<Response/>") {
		t.Fatal("empty TwiML")
	}
}

func TestSend_RetriesTransientThenSucceedsAndStopsOnPermanent(t *testing.T) {
	f := twiliotest.NewServer(twiliotest.Options{})
	defer f.Close()
	sid, token := f.Credentials()
	c := twilio.NewClient(f.URL(), sid, token, nil)
	ctx := context.Background()
	f.FailNext(2, http.StatusServiceUnavailable)
	res, err := c.Send(ctx, sms.Message{To: "+61412345678", From: "+15005550006", Text: "hi"})
	if err != nil || !strings.HasPrefix(res.ProviderMessageID, "SM") || len(f.Sent()) != 1 {
		t.Fatalf("send after 503s = %+v %v (sent %d)", res, err, len(f.Sent()))
	}
	f.OptOut("+61499999999")
	_, err = c.Send(ctx, sms.Message{To: "+61499999999", From: "+15005550006", Text: "hi"})
	var se *httpx.Error
	if !errors.As(err, &se) || !se.Permanent() || se.Code != "21610" {
		t.Fatalf("send to opted-out = %v", err)
	}
	bad := twilio.NewClient(f.URL(), sid, "wrong", nil)
	if _, err := bad.Send(ctx, sms.Message{To: "+61412345678", From: "+1", Text: "x"}); !errors.As(err, &se) || se.Status != 401 {
		t.Fatalf("bad credentials = %v", err)
	}
	// The error's text (an outbox result's detail, shown to hub users)
	// holds the status and Twilio's code, never what Twilio said.
	if s := se.Error(); s != "twilio: HTTP 401 20003" || se.Reason != "Authenticate" {
		t.Fatalf("bad credentials: Error() = %q, Reason %q", s, se.Reason)
	}
}

func FuzzParseInbound(f *testing.F) {
	f.Add([]byte("MessageSid=SM1&From=%2B61412345678&To=%2B15005550006&Body=STOP"), "sig")
	f.Add([]byte("%%%"), "")
	f.Add([]byte("Body=&From=&MessageSid="), "AAAA")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		h := http.Header{}
		h.Set(twilio.HeaderSignature, sig)
		in, err := twilio.ParseInbound("token", "https://example.com/sms/inbound/twilio/t1", h, body)
		if err == nil && (in.MessageID == "" || !strings.HasPrefix(in.From, "+")) {
			t.Fatalf("accepted %+v", in)
		}
		// A correctly signed body must parse or be refused as malformed, never panic.
		form, perr := url.ParseQuery(string(body))
		if perr != nil {
			return
		}
		h.Set(twilio.HeaderSignature, twilio.Signature("token", "https://example.com/x", form))
		_, _ = twilio.ParseInbound("token", "https://example.com/x", h, body)
	})
}
