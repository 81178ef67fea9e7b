package sinch_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/sinch"
	"github.com/contactsync/contactsync/pkg/sms/sinch/sinchtest"
)

// TestSend_AcceptedThenNoAnswerIsSentOnceAndFound: Sinch takes the batch
// and its answer never comes: no second post, ErrUnknownOutcome, and the
// batch is found by its client_reference.
func TestSend_AcceptedThenNoAnswerIsSentOnceAndFound(t *testing.T) {
	f := sinchtest.NewServer(sinchtest.Options{})
	defer f.Close()
	plan, token := f.Credentials()
	c := sinch.NewClient(f.URL(), plan, token, &http.Client{Timeout: 300 * time.Millisecond})
	f.HangNext(1)
	since := time.Now()
	m := sms.Message{To: "+61412345678", From: "+61400000000", Text: "bye", Reference: "ref-hang"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Send(ctx, m); !errors.Is(err, sms.ErrUnknownOutcome) {
		t.Fatalf("send = %v, want ErrUnknownOutcome", err)
	}
	if len(f.Sent()) != 1 || f.Posts() != 1 {
		t.Fatalf("provider holds %d after %d posts, want 1 and 1", len(f.Sent()), f.Posts())
	}
	if id, found, err := c.Find(ctx, m, since); err != nil || !found || id == "" {
		t.Fatalf("find = %q %v %v", id, found, err)
	}
	m.Reference = "ref-never"
	if _, found, err := c.Find(ctx, m, since); err != nil || found {
		t.Fatalf("find of a batch never sent = %v %v", found, err)
	}
}
