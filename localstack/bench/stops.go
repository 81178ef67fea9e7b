package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// stopResult is the STOP burst's figures.
type stopResult struct {
	Replies int `json:"replies"`
	// Until every reply was answered (each handler unsubscribes the number
	// before it answers), and until a read of every ledger confirmed it.
	AnsweredSeconds     float64 `json:"answeredSeconds"`
	UnsubscribedSeconds float64 `json:"unsubscribedSeconds"`
	AllUnsubscribed     bool    `json:"allUnsubscribed"`
	Errors              int     `json:"errors"`
	// Until the outbox had sent every opt-out confirmation through the
	// provider (fake Twilio).
	ConfirmedSeconds float64 `json:"confirmedSeconds"`
	Confirmations    int     `json:"confirmations"`
	P50Ms            float64 `json:"p50Ms"`
	P99Ms            float64 `json:"p99Ms"`
}

const stopSender = "+61400000000"

// stopBurst subscribes n numbers in a fresh tenant (Twilio as its SMS
// provider), then sends a STOP from each, 50 at a time, through the signed
// Twilio inbound route, and times until all are unsubscribed and all
// opt-out confirmations are out.
func (b *bench) stopBurst(ctx context.Context, n int) (stopResult, error) {
	res := stopResult{Replies: n}
	tenant, api, err := b.newTenant(ctx, "STOP burst")
	if err != nil {
		return res, err
	}
	tw := twiliotest.NewServer(twiliotest.Options{})
	defer tw.Close()
	sid, token := tw.Credentials()
	if err := api.Do(ctx, "PUT", "/v1/sms-provider", map[string]any{
		"provider": "twilio", "sender": stopSender, "companyName": "Bench Co", "helpText": "Help: 1300 000 000",
		"apiBaseUrl": tw.URL(), "credentials": map[string]string{"accountSid": sid, "authToken": token},
	}, nil); err != nil {
		return res, err
	}
	empty := woocommercetest.NewServer(woocommercetest.Options{})
	defer empty.Close()
	key, secret := empty.Credentials()
	var conn struct{ ID, SyncID string }
	if err := api.Do(ctx, "POST", "/v1/connections", map[string]any{
		"platform": "woocommerce", "label": "WooCommerce", "consentMode": "inferred", "defaultRegion": "AU",
		"config": map[string]string{"storeUrl": empty.URL(), "consumerKey": key, "consumerSecret": secret, "webhookSecret": "s"},
	}, &conn); err != nil {
		return res, err
	}
	if _, err := b.waitRun(ctx, tenant, conn.SyncID, time.Minute); err != nil {
		return res, err
	}
	numbers, err := b.seedSubscribed(ctx, tenant, conn.ID, n)
	if err != nil {
		return res, err
	}

	hook := b.app.BaseURL + "/sms/inbound/twilio/" + tenant
	public := b.app.PublicBaseURL + "/sms/inbound/twilio/" + tenant
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				resp, _, err := tw.SendInbound(ctx, hook, public, numbers[i], stopSender, "STOP", fmt.Sprintf("SMbench%030d", i))
				lat[i] = time.Since(t0)
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	res.AnsweredSeconds = time.Since(start).Seconds()
	res.Errors = int(errs.Load())
	res.P50Ms, res.P99Ms = ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99))
	unsubscribed := 0
	for _, e164 := range numbers {
		rec, ok, err := b.app.Store.GetPhone(ctx, tenant, e164)
		if err != nil {
			return res, err
		}
		if ok && rec.Ledger.State() == consent.Unsubscribed {
			unsubscribed++
		}
	}
	res.UnsubscribedSeconds = time.Since(start).Seconds()
	res.AllUnsubscribed = unsubscribed == n
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if res.Confirmations = len(tw.Sent()); res.Confirmations >= n {
			break
		}
	}
	res.ConfirmedSeconds = time.Since(start).Seconds()
	return res, nil
}

// seedSubscribed writes n subscribed contacts (inferred consent) from the
// connection, straight through the store, and returns their numbers.
func (b *bench) seedSubscribed(ctx context.Context, tenant, connID string, n int) ([]string, error) {
	t := store.Target{TenantID: tenant, Conn: merge.Connection{ID: connID, Label: "WooCommerce", Mode: consent.Inferred, DefaultRegion: "AU"}}
	at := time.Now().Add(-time.Hour)
	numbers := make([]string, n)
	recs := make([]source.Record, 0, 100)
	for i := 0; i < n; i++ {
		numbers[i] = fmt.Sprintf("+61422%06d", i)
		recs = append(recs, source.Record{Platform: source.WooCommerce, Label: "WooCommerce", ConnectionID: connID, ExternalID: fmt.Sprint(i + 1),
			UpdatedAt: at, FirstName: "Stop", LastName: fmt.Sprint("Tester", i), Phones: []source.PhoneField{{Raw: numbers[i], Field: "billing.phone"}}})
		if len(recs) == cap(recs) || i == n-1 {
			if _, err := b.app.Store.ApplyRecords(ctx, t, recs, time.Now()); err != nil {
				return nil, err
			}
			recs = recs[:0]
		}
	}
	for _, e164 := range numbers[:min(n, 5)] {
		rec, ok, err := b.app.Store.GetPhone(ctx, tenant, e164)
		if err != nil || !ok || rec.Ledger.State() != consent.Subscribed {
			return nil, fmt.Errorf("seeded %s is not subscribed (%v, %v)", e164, ok, err)
		}
	}
	return numbers, nil
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}
