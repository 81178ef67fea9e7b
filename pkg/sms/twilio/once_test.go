package twilio_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/twilio"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
)

// TestSend_AcceptedThenNoAnswerIsSentOnceAndFound: Twilio takes the message
// and its answer never comes. The client must not post it again (a second
// opt-out confirmation breaks the one-confirmation rule): the send is
// ErrUnknownOutcome, Twilio holds exactly one message, and Find sees it.
func TestSend_AcceptedThenNoAnswerIsSentOnceAndFound(t *testing.T) {
	f := twiliotest.NewServer(twiliotest.Options{})
	defer f.Close()
	sid, token := f.Credentials()
	c := twilio.NewClient(f.URL(), sid, token, &http.Client{Timeout: 300 * time.Millisecond})
	f.HangNext(1)
	since := time.Now()
	m := sms.Message{To: "+61412345678", From: "+15005550006", Text: "You have been unsubscribed."}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.Send(ctx, m)
	if !errors.Is(err, sms.ErrUnknownOutcome) {
		t.Fatalf("send = %v, want ErrUnknownOutcome", err)
	}
	if n := len(f.SentTo(m.To)); n != 1 || f.Posts() != 1 {
		t.Fatalf("provider holds %d messages after %d posts, want 1 and 1", n, f.Posts())
	}
	id, found, err := c.Find(ctx, m, since)
	if err != nil || !found || id == "" {
		t.Fatalf("find = %q %v %v", id, found, err)
	}
	other := m
	other.Text = "something else"
	if _, found, err := c.Find(ctx, other, since); err != nil || found {
		t.Fatalf("find of a message never sent = %v %v", found, err)
	}
}

// TestSend_500IsUnknownNotRetried: a 500 does not say Twilio refused the
// message; only 429 and 503 are repeated.
func TestSend_500IsUnknownNotRetried(t *testing.T) {
	f := twiliotest.NewServer(twiliotest.Options{})
	defer f.Close()
	sid, token := f.Credentials()
	c := twilio.NewClient(f.URL(), sid, token, nil)
	f.FailNext(1, http.StatusInternalServerError)
	_, err := c.Send(context.Background(), sms.Message{To: "+61412345678", From: "+15005550006", Text: "hi"})
	if !errors.Is(err, sms.ErrUnknownOutcome) || f.Posts() != 1 {
		t.Fatalf("send after a 500 = %v after %d posts, want ErrUnknownOutcome after 1", err, f.Posts())
	}
	f.FailNext(1, http.StatusTooManyRequests)
	if _, err := c.Send(context.Background(), sms.Message{To: "+61412345678", From: "+15005550006", Text: "hi"}); err != nil || f.Posts() != 3 {
		t.Fatalf("send after a 429 = %v after %d posts, want sent on the second", err, f.Posts())
	}
}
