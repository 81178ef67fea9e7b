package hubapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/messages"
	"github.com/contactsync/contactsync/pkg/outbox"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
)

// usageFixture is the Hub API and the outbox consumer on the embedded
// stack, with a fake Twilio as the tenant's provider, all on one clock
// (mid-November 2026: the month is known).
type usageFixture struct {
	*api
	s      *stacktest.Stack
	ob     *outbox.Handler
	tw     *twiliotest.Server
	sealer *seal.Sealer
	key    string
	tenant string
	now    time.Time
}

func newUsageFixture(t *testing.T, templates map[string]string) *usageFixture {
	t.Helper()
	s := stacktest.New(t)
	now := time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := store.New(s.DynamoDB, s.Table, store.WithClock(clock))
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	h := hubapi.New(hubapi.Deps{
		Store: st, Sealer: sealer, AdminToken: admin, PublicBaseURL: "https://hooks.example.com/", AllowPrivateHosts: true, Now: clock,
		Starter: syncrun.Starter{Store: st, Pages: queue.NewSender(s.SQS, s.PagesQueueURL), LockFor: time.Hour},
		Outbox:  queue.NewSender(s.SQS, s.OutboxQueueURL),
	})
	tw := twiliotest.NewServer(twiliotest.Options{})
	t.Cleanup(tw.Close)
	f := &usageFixture{api: &api{t: t, h: h, st: st}, s: s, tw: tw, now: now, sealer: sealer,
		ob: outbox.New(outbox.Deps{Store: st, Opener: sealer, AllowPrivateHosts: true, Now: clock})}
	f.key = f.api.tenant()
	f.tenant, _, _ = strings.Cut(f.key, ".")
	sid, token := tw.Credentials()
	body, _ := json.Marshal(map[string]any{"provider": "twilio", "sender": "+15005550006", "companyName": "Acme", "apiBaseUrl": tw.URL(),
		"credentials": map[string]string{"accountSid": sid, "authToken": token}, "templates": templates})
	if code, out := f.do("PUT", "/v1/sms-provider", f.key, string(body), nil); code != http.StatusOK {
		t.Fatalf("put provider: %d %v", code, out)
	}
	return f
}

// due writes the marker of a due SMS (as a merge or inbound decision does)
// and returns its queue message.
func (f *usageFixture) due(conn string, p consent.Purpose, phone string) messages.Outbox {
	f.t.Helper()
	m := messages.SMS(f.tenant, consent.Message{Phone: phone, ConnectionID: conn, Purpose: p, At: f.now})
	if err := f.st.PutOutbox(context.Background(), m.Entry()); err != nil {
		f.t.Fatal(err)
	}
	return m
}

// consume hands messages to the outbox consumer, as the queue delivers them.
func (f *usageFixture) consume(msgs ...any) {
	f.t.Helper()
	for i, m := range msgs {
		var body []byte
		switch v := m.(type) {
		case string:
			body = []byte(v)
		default:
			body, _ = json.Marshal(v)
		}
		resp, err := f.ob.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m" + string(rune('a'+i)), Body: string(body)}}})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			f.t.Fatalf("outbox handling %s: %v %+v", body, err, resp)
		}
	}
}

// queued reads n messages from the outbox queue (deleting them).
func (f *usageFixture) queued(n int) []any {
	f.t.Helper()
	ctx := context.Background()
	var bodies []any
	deadline := time.Now().Add(20 * time.Second)
	for len(bodies) < n && time.Now().Before(deadline) {
		out, err := f.s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(f.s.OutboxQueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			f.t.Fatal(err)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			if _, err := f.s.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(f.s.OutboxQueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				f.t.Fatal(err)
			}
		}
	}
	if len(bodies) != n {
		f.t.Fatalf("outbox queue held %d messages, want %d", len(bodies), n)
	}
	return bodies
}

func (f *usageFixture) usage(query map[string]string) hubapi.UsageOut {
	f.t.Helper()
	code, raw := f.do("GET", "/v1/usage", f.key, "", query)
	if code != http.StatusOK {
		f.t.Fatalf("GET /v1/usage: %d %v", code, raw)
	}
	b, _ := json.Marshal(raw)
	var u hubapi.UsageOut
	if err := json.Unmarshal(b, &u); err != nil {
		f.t.Fatal(err)
	}
	return u
}

func byConnection(cs []hubapi.ConnectionUsage) map[string][2]int {
	out := map[string][2]int{}
	for _, c := range cs {
		out[c.ConnectionID] = [2]int{c.Messages, c.Credits}
	}
	return out
}

func byPurpose(cs []hubapi.PurposeUsage) map[string][2]int {
	out := map[string][2]int{}
	for _, c := range cs {
		out[c.Purpose] = [2]int{c.Messages, c.Credits}
	}
	return out
}

// TestUsage_CreditsByEncodingAndLengthPerConnectionAndPurpose: each sent
// message is counted with the parts its text is billed as — a 161-character
// confirmation is 2 credits, a request with a € (GSM-7 extension) 1, a help
// text with an emoji over 70 UCS-2 units 2 — and GET /v1/usage returns the
// month's messages and credits by connection and by purpose. A redelivered
// message is counted once; another month is empty; a malformed month is a
// 400.
func TestUsage_CreditsByEncodingAndLengthPerConnectionAndPurpose(t *testing.T) {
	t.Parallel()
	f := newUsageFixture(t, map[string]string{
		"confirmation":       strings.Repeat("x", 151) + " {company} STOP",  // 161 GSM-7 characters
		"doubleOptInRequest": "Reply YES for {company} deals from €5",       // GSM-7 with one extension character
		"help":               "😀 " + strings.Repeat("h", 69) + " {company}", // UCS-2: 2+1+69+5 = 77 units
	})
	connA, connB := store.NewConnectionID(f.tenant), store.NewConnectionID(f.tenant)
	msgs := []any{
		f.due(connA, consent.PurposeConfirmation, "+61412000001"),
		f.due(connA, consent.PurposeDoubleOptInRequest, "+61412000002"),
		f.due(connB, consent.PurposeConfirmation, "+61412000003"),
		f.due("", consent.PurposeHelp, "+61412000004"),
	}
	f.consume(msgs...)
	f.consume(msgs[0]) // a redelivery sends and counts nothing
	if n := f.tw.Posts(); n != 4 {
		t.Fatalf("%d sends at Twilio, want 4", n)
	}

	u := f.usage(nil) // the current month by default
	if u.Month != "2026-11" || u.Messages != 4 || u.Credits != 7 || u.HeldByCap != 0 || u.MonthlyCreditCap != nil {
		t.Fatalf("usage = %+v, want 2026-11: 4 messages, 7 credits, none held, no cap", u)
	}
	wantConn := map[string][2]int{connA: {2, 3}, connB: {1, 2}, "": {1, 2}}
	if got := byConnection(u.ByConnection); len(got) != 3 || got[connA] != wantConn[connA] || got[connB] != wantConn[connB] || got[""] != wantConn[""] {
		t.Errorf("byConnection = %v, want %v", got, wantConn)
	}
	wantPurp := map[string][2]int{"confirmation": {2, 4}, "double_opt_in_request": {1, 1}, "help": {1, 2}}
	if got := byPurpose(u.ByPurpose); len(got) != 3 || got["confirmation"] != wantPurp["confirmation"] ||
		got["double_opt_in_request"] != wantPurp["double_opt_in_request"] || got["help"] != wantPurp["help"] {
		t.Errorf("byPurpose = %v, want %v", got, wantPurp)
	}
	// The shape: every entry names its connection (hub-level replies: "") or purpose.
	_, raw := f.do("GET", "/v1/usage", f.key, "", nil)
	for _, e := range raw["byConnection"].([]any) {
		if _, ok := e.(map[string]any)["connectionId"]; !ok {
			t.Errorf("byConnection entry without connectionId: %v", e)
		}
	}
	for _, e := range raw["byPurpose"].([]any) {
		if _, ok := e.(map[string]any)["purpose"]; !ok {
			t.Errorf("byPurpose entry without purpose: %v", e)
		}
	}
	if used, _ := f.st.CreditsUsed(context.Background(), f.tenant); used != 7 {
		t.Errorf("tenant credits = %d, want 7", used)
	}
	if same := f.usage(map[string]string{"month": "2026-11"}); same.Credits != 7 {
		t.Errorf("month=2026-11: %+v", same)
	}
	if other := f.usage(map[string]string{"month": "2026-10"}); other.Month != "2026-10" || other.Messages != 0 || other.Credits != 0 ||
		len(other.ByConnection) != 0 || len(other.ByPurpose) != 0 {
		t.Errorf("month=2026-10 = %+v, want empty", other)
	}
	for _, bad := range []string{"", "2026-13", "2026-1", "november", "2026-11-01", "0001-01"} {
		code, out := f.do("GET", "/v1/usage", f.key, "", map[string]string{"month": bad})
		badField(t, "month="+bad, code, out, "month")
	}
	// Another tenant sees none of it.
	other := f.api.tenant()
	code, raw := f.do("GET", "/v1/usage", other, "", nil)
	if code != http.StatusOK || raw["messages"] != float64(0) || raw["credits"] != float64(0) {
		t.Errorf("another tenant's usage: %d %v", code, raw)
	}
}

// TestUsage_MonthlyCapHoldsAndReleases: with a cap of 3 credits, a second
// 2-credit confirmation is held (held_by_cap, counted in GET /v1/usage, not
// sent even when redelivered) while a help reply still goes out; raising
// the cap to 4 releases it and it is held again (5 > 4); raising it to 10
// sends it, once.
func TestUsage_MonthlyCapHoldsAndReleases(t *testing.T) {
	t.Parallel()
	f := newUsageFixture(t, map[string]string{"confirmation": strings.Repeat("x", 151) + " {company} STOP"}) // 2 credits
	ctx := context.Background()
	for _, bad := range []string{`{}`, `{"monthlyCredits":-1}`, `{"monthlyCredits":1.5}`, `{"monthlyCredits":"3"}`, `{"monthlyCredits":1000000001}`} {
		code, out := f.do("PUT", "/v1/usage/cap", f.key, bad, nil)
		badField(t, bad, code, out, "monthlyCredits")
	}
	if code, out := f.do("PUT", "/v1/usage/cap", f.key, `{"monthlyCredits":3,"x":1}`, nil); code != http.StatusBadRequest {
		t.Errorf("unknown field: %d %v", code, out)
	}
	if code, out := f.do("PUT", "/v1/usage/cap", f.key, `{"monthlyCredits":3}`, nil); code != http.StatusOK || out["monthlyCredits"] != float64(3) || out["released"] != float64(0) {
		t.Fatalf("put cap: %d %v", code, out)
	}
	conn := store.NewConnectionID(f.tenant)
	const first, second, helped = "+61412000011", "+61412000012", "+61412000013"
	m1, m2 := f.due(conn, consent.PurposeConfirmation, first), f.due(conn, consent.PurposeConfirmation, second)
	help := f.due("", consent.PurposeHelp, helped)
	f.consume(m1, m2, help, m2)
	if len(f.tw.SentTo(first)) != 1 || len(f.tw.SentTo(second)) != 0 || len(f.tw.SentTo(helped)) != 1 {
		t.Fatalf("sent: first %d, second %d, help %d; want 1, 0 (held), 1", len(f.tw.SentTo(first)), len(f.tw.SentTo(second)), len(f.tw.SentTo(helped)))
	}
	if _, status, _ := f.st.GetOutbox(ctx, f.tenant, m2.Ref); status != store.OutboxHeld {
		t.Fatalf("second marker = %q, want %s", status, store.OutboxHeld)
	}
	u := f.usage(nil)
	if u.Credits != 3 || u.Messages != 2 || u.HeldByCap != 1 || u.MonthlyCreditCap == nil || *u.MonthlyCreditCap != 3 {
		t.Fatalf("usage = %+v, want 3 credits, 2 messages, 1 held, cap 3", u)
	}
	// A held message is not the sweeper's: it waits for the cap.
	sw := &messages.Sweeper{Store: f.st, Queue: queue.NewSender(f.s.SQS, f.s.OutboxQueueURL)}
	if n, err := sw.Sweep(ctx, f.now.Add(store.OutboxGrace+time.Hour)); err != nil || n != 0 {
		t.Fatalf("sweep = %d %v, want 0", n, err)
	}

	// Raised, but not enough: released and held again.
	if code, out := f.do("PUT", "/v1/usage/cap", f.key, `{"monthlyCredits":4}`, nil); code != http.StatusOK || out["released"] != float64(1) {
		t.Fatalf("raise to 4: %d %v", code, out)
	}
	f.consume(f.queued(1)...)
	if len(f.tw.SentTo(second)) != 0 || f.usage(nil).HeldByCap != 1 {
		t.Fatalf("at cap 4 the 2-credit message went out or was not held again (usage %+v)", f.usage(nil))
	}
	// Raised enough: sent once, counted.
	if code, out := f.do("PUT", "/v1/usage/cap", f.key, `{"monthlyCredits":10}`, nil); code != http.StatusOK || out["released"] != float64(1) {
		t.Fatalf("raise to 10: %d %v", code, out)
	}
	released := f.queued(1)
	f.consume(released...)
	f.consume(released...) // redelivered
	if n := len(f.tw.SentTo(second)); n != 1 {
		t.Fatalf("second confirmation sent %d times, want 1", n)
	}
	u = f.usage(nil)
	if u.Credits != 5 || u.Messages != 3 || u.HeldByCap != 0 {
		t.Fatalf("usage = %+v, want 5 credits, 3 messages, none held", u)
	}
	if n, err := sw.Sweep(ctx, f.now.Add(store.OutboxGrace+time.Hour)); err != nil || n != 0 {
		t.Fatalf("sweep after sending = %d %v, want 0", n, err)
	}
	// null removes the cap.
	if code, out := f.do("PUT", "/v1/usage/cap", f.key, `{"monthlyCredits":null}`, nil); code != http.StatusOK || out["monthlyCredits"] != nil {
		t.Fatalf("remove cap: %d %v", code, out)
	}
	if u := f.usage(nil); u.MonthlyCreditCap != nil {
		t.Errorf("cap after removal = %v", *u.MonthlyCreditCap)
	}
}

// TestUsage_ReleasedMessagesSurviveALostEnqueue: when the cap update's
// enqueue is lost, the released message is pending in the sweeper's index
// and the next sweep enqueues it.
func TestUsage_ReleasedMessagesSurviveALostEnqueue(t *testing.T) {
	t.Parallel()
	f := newUsageFixture(t, nil)
	ctx := context.Background()
	if code, out := f.do("PUT", "/v1/usage/cap", f.key, `{"monthlyCredits":0}`, nil); code != http.StatusOK {
		t.Fatalf("put cap: %d %v", code, out)
	}
	m := f.due(store.NewConnectionID(f.tenant), consent.PurposeDoubleOptInRequest, "+61412000021")
	f.consume(m)
	if u := f.usage(nil); u.HeldByCap != 1 || f.tw.Posts() != 0 {
		t.Fatalf("cap 0: usage %+v, %d sends; want 1 held, none sent", u, f.tw.Posts())
	}
	lost := hubapi.New(hubapi.Deps{Store: f.st, AdminToken: admin, Now: func() time.Time { return f.now },
		Outbox: queue.NewSender(f.s.SQS, f.s.OutboxQueueURL+"-gone")})
	api := &api{t: t, h: lost, st: f.st}
	if code, out := api.do("PUT", "/v1/usage/cap", f.key, `{"monthlyCredits":null}`, nil); code != http.StatusOK || out["released"] != float64(1) {
		t.Fatalf("remove cap with a failing enqueue: %d %v", code, out)
	}
	sw := &messages.Sweeper{Store: f.st, Queue: queue.NewSender(f.s.SQS, f.s.OutboxQueueURL)}
	if n, err := sw.Sweep(ctx, f.now.Add(store.OutboxGrace+time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep = %d %v, want the released message", n, err)
	}
	f.consume(f.queued(1)...)
	if u := f.usage(nil); u.HeldByCap != 0 || u.Messages != 1 || len(f.tw.SentTo("+61412000021")) != 1 {
		t.Fatalf("after the sweep: usage %+v, sent %d; want sent once", u, len(f.tw.SentTo("+61412000021")))
	}
}

// TestUsage_CapCountsSendsInFlight: a 2-credit confirmation is at the
// provider (it took the message and has not answered) when a second one is
// consumed under a cap of 3: the first one's reserved credits count, so
// the second is held rather than both going out. The first one's lost
// answer is reconciled later: sent, 2 credits, its reservation turned into
// them.
func TestUsage_CapCountsSendsInFlight(t *testing.T) {
	t.Parallel()
	f := newUsageFixture(t, map[string]string{"confirmation": strings.Repeat("x", 151) + " {company} STOP"}) // 2 credits
	ctx := context.Background()
	if code, out := f.do("PUT", "/v1/usage/cap", f.key, `{"monthlyCredits":3}`, nil); code != http.StatusOK {
		t.Fatalf("put cap: %d %v", code, out)
	}
	conn := store.NewConnectionID(f.tenant)
	const first, second = "+61412000031", "+61412000032"
	m1, m2 := f.due(conn, consent.PurposeConfirmation, first), f.due(conn, consent.PurposeConfirmation, second)
	f.tw.HangNext(1)
	slow := outbox.New(outbox.Deps{Store: f.st, Opener: f.sealer, AllowPrivateHosts: true, Now: func() time.Time { return f.now },
		HTTP: &http.Client{}, MessageTimeout: 3 * time.Second})
	done := make(chan struct{})
	go func() {
		defer close(done)
		body, _ := json.Marshal(m1)
		if resp, err := slow.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "slow", Body: string(body)}}}); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Errorf("first send: %v %+v", err, resp)
		}
	}()
	for deadline := time.Now().Add(20 * time.Second); f.tw.Posts() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the first send never reached the provider")
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.consume(m2) // while the first is at the provider
	<-done
	if n := len(f.tw.SentTo(second)); n != 0 {
		t.Fatalf("second confirmation sent %d times while the first was in flight, want held", n)
	}
	if u := f.usage(nil); u.HeldByCap != 1 || u.Credits != 0 {
		t.Fatalf("usage = %+v, want 1 held and no credits until the first one's outcome is known", u)
	}
	f.consume(m1) // the redelivery finds it at the provider
	if u := f.usage(nil); u.Credits != 2 || u.Messages != 1 || u.HeldByCap != 1 || len(f.tw.SentTo(first)) != 1 {
		t.Fatalf("usage = %+v, first sent %d; want 2 credits, 1 message, 1 held, sent once", u, len(f.tw.SentTo(first)))
	}
}

// TestUsage_CapReservationOfAFailedSendIsGivenBack: a confirmation the
// provider refuses for good (Twilio 21610) gives its reserved credits
// back, so the next one fits under the cap.
func TestUsage_CapReservationOfAFailedSendIsGivenBack(t *testing.T) {
	t.Parallel()
	f := newUsageFixture(t, map[string]string{"confirmation": strings.Repeat("x", 151) + " {company} STOP"}) // 2 credits
	if code, out := f.do("PUT", "/v1/usage/cap", f.key, `{"monthlyCredits":3}`, nil); code != http.StatusOK {
		t.Fatalf("put cap: %d %v", code, out)
	}
	conn := store.NewConnectionID(f.tenant)
	const refused, next = "+61412000041", "+61412000042"
	f.tw.OptOut(refused)
	m1, m2 := f.due(conn, consent.PurposeConfirmation, refused), f.due(conn, consent.PurposeConfirmation, next)
	f.consume(m1, m2)
	if _, status, _ := f.st.GetOutbox(context.Background(), f.tenant, m1.Ref); status != store.OutboxFailed {
		t.Fatalf("refused message = %q, want failed", status)
	}
	if u := f.usage(nil); len(f.tw.SentTo(next)) != 1 || u.HeldByCap != 0 || u.Credits != 2 || u.Messages != 1 {
		t.Fatalf("usage = %+v, next sent %d; want the next one sent (2 credits), none held", u, len(f.tw.SentTo(next)))
	}
}
