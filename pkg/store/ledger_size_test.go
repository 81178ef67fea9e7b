package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// TestLedger_TenThousandStopStartTogglesStaySmall: a number whose owner
// texts STOP and START 10,000 times (5,000 of each) keeps a phone item far
// below DynamoDB's 400 KB limit, and every STOP is written. Before
// compaction the ledger's Queued kept one opt-out confirmation per STOP,
// about 82 bytes each: the item passed 400 KB near the 5,000th STOP, and
// from then on no write, not even a STOP, succeeded. The size is checked
// every 1,000 toggles, so a regression fails fast.
func TestLedger_TenThousandStopStartTogglesStaySmall(t *testing.T) {
	t.Parallel()
	st, s, clk := newStore(t)
	ctx := context.Background()
	c := conn("c1", "Shopify", consent.Confirmation)
	a, err := st.ApplyRecord(ctx, store.Target{TenantID: "t1", Conn: c}, record(c, 21, t0, "Ann", source.ConsentSignal{State: source.SignalSubscribed, At: t0}), clk.now())
	if err != nil {
		t.Fatal(err)
	}
	phone := "+61412000021"
	const toggles = 10000
	at := clk.now()
	for i := range toggles {
		at = at.Add(time.Second)
		ev := consent.OptInEvent(at, consent.Evidence{Text: "START", MessageID: "SM-" + strconv.Itoa(i), Provider: "twilio"})
		stop := i%2 == 0
		if stop {
			ev = consent.OptOutEvent(at, consent.Evidence{Text: "STOP", MessageID: "SM-" + strconv.Itoa(i), Provider: "twilio"})
		}
		var due []consent.Message
		rec, err := st.UpdateLedger(ctx, "t1", phone, func(r store.PhoneRecord) (store.LedgerUpdate, error) {
			l, ch := r.Ledger.Apply(ev)
			due = ch.MessagesDue
			return store.LedgerUpdate{Ledger: l, Changed: !ch.IsZero()}, nil
		})
		if err != nil {
			t.Fatalf("toggle %d (STOP %v): %v", i, stop, err)
		}
		want := consent.Subscribed
		if stop {
			want = consent.Unsubscribed
			if len(due) != 1 || due[0].Purpose != consent.PurposeOptOutConfirmation || !due[0].At.Equal(at) {
				t.Fatalf("STOP %d: messages due %+v, want one opt-out confirmation", i, due)
			}
		}
		if rec.Ledger.State() != want || rec.Version != int64(i+2) {
			t.Fatalf("toggle %d: state %q at version %d, want %q at %d", i, rec.Ledger.State(), rec.Version, want, i+2)
		}
		if n := i + 1; n%1000 == 0 {
			out, err := s.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: "T#t1#P#" + phone}, "SK": &types.AttributeValueMemberS{Value: "PHONE"},
			}})
			if err != nil || out.Item == nil {
				t.Fatalf("reading the phone item: %v %v", out.Item, err)
			}
			if size := itemSize(out.Item); size > 4096 {
				t.Fatalf("phone item is %d bytes after %d toggles, want it to stay under 4 KB", size, n)
			} else if n == toggles {
				t.Logf("phone item after %d toggles: %d bytes", n, size)
			}
		}
	}
	// The contact shows the last toggle, and the confirmation-mode message
	// is still remembered (not due again on a re-sync).
	if cv, err := st.GetContact(ctx, "t1", a.Decision.ContactID); err != nil || cv.Status != string(consent.Subscribed) {
		t.Errorf("contact status = %q %v", cv.Status, err)
	}
	rec, _, err := st.GetPhone(ctx, "t1", phone)
	if err != nil || !rec.Ledger.WasQueued(consent.Message{ConnectionID: "c1", Purpose: consent.PurposeConfirmation}) {
		t.Errorf("the confirmation-mode message is forgotten: %+v %v", rec.Ledger.Queued, err)
	}
}

// itemSize is DynamoDB's item size: attribute names plus values (strings as
// UTF-8 bytes, numbers roughly by their digits).
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + avSize(v)
	}
	return n
}

func avSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberM:
		return 3 + itemSize(v.Value)
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + avSize(e)
		}
		return n
	case *types.AttributeValueMemberSS:
		n := 0
		for _, e := range v.Value {
			n += len(e)
		}
		return n
	}
	return 0
}
