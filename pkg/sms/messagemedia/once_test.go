package messagemedia_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/messagemedia"
	"github.com/contactsync/contactsync/pkg/sms/messagemedia/messagemediatest"
)

// TestSend_AcceptedThenNoAnswerIsSentOnce: MessageMedia takes the message
// and its answer never comes: the client does not post it again.
func TestSend_AcceptedThenNoAnswerIsSentOnce(t *testing.T) {
	f := messagemediatest.NewServer(messagemediatest.Options{})
	defer f.Close()
	key, secret := f.Credentials()
	c := messagemedia.NewClient(f.URL(), key, secret, &http.Client{Timeout: 300 * time.Millisecond})
	f.HangNext(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Send(ctx, sms.Message{To: "+61412345678", Text: "bye", Reference: "ref-hang"}); !errors.Is(err, sms.ErrUnknownOutcome) {
		t.Fatalf("send = %v, want ErrUnknownOutcome", err)
	}
	if n := len(f.Sent()); n != 1 {
		t.Fatalf("provider holds %d messages, want 1", n)
	}
}
