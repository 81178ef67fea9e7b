package smsproviders_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/sms/messagemedia"
	"github.com/contactsync/contactsync/pkg/sms/messagemedia/messagemediatest"
	"github.com/contactsync/contactsync/pkg/sms/sinch"
	"github.com/contactsync/contactsync/pkg/sms/sinch/sinchtest"
	"github.com/contactsync/contactsync/pkg/sms/twilio"
	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
)

func twilioContender() contender {
	return contender{spec: twilio.Spec(), start: func(t *testing.T) fake {
		const sender = "+15005550006"
		s := twiliotest.NewServer(twiliotest.Options{Numbers: []string{sender}})
		t.Cleanup(s.Close)
		sid, token := s.Credentials()
		return fake{
			settings: sms.Settings{Provider: sms.Twilio, Sender: sender, APIBaseURL: s.URL(), Credentials: map[string]string{"accountSid": sid, "authToken": token}},
			badKey:   "authToken",
			fail:     func() { s.FailNext(1, http.StatusServiceUnavailable) },
			hang:     func() { s.HangNext(1) },
			sent:     func() int { return len(s.Sent()) },
			deliver: func(t *testing.T, url string, _ map[string]string, from, text string) {
				resp, _, err := s.SendInbound(context.Background(), url, url, from, sender, text, "")
				delivered(t, resp, err)
			},
			pointed: func() string { u, _, _ := s.SMSURL(sender); return u },
		}
	}}
}

func sinchContender() contender {
	return contender{spec: sinch.Spec(), start: func(t *testing.T) fake {
		const sender = "+61400000000"
		s := sinchtest.NewServer(sinchtest.Options{})
		t.Cleanup(s.Close)
		plan, token := s.Credentials()
		creds := map[string]string{"servicePlanId": plan, "apiToken": token}
		return fake{
			settings: sms.Settings{Provider: sms.Sinch, Sender: sender, APIBaseURL: s.URL(), Credentials: with(creds, "webhookSecret", "whsec_sinch_conformance")},
			badKey:   "apiToken",
			unsigned: creds,
			fail:     func() { s.FailNext(1) },
			hang:     func() { s.HangNext(1) },
			sent:     func() int { return len(s.Sent()) },
			deliver: func(t *testing.T, url string, creds map[string]string, from, text string) {
				resp, _, err := s.SendInbound(context.Background(), url, creds["webhookSecret"], from, sender, text, "")
				delivered(t, resp, err)
			},
			// Sinch's API cannot set a service plan's callback URL.
		}
	}}
}

func messageMediaContender() contender {
	return contender{spec: messagemedia.Spec(), start: func(t *testing.T) fake {
		const sender = "+61400000000"
		s := messagemediatest.NewServer(messagemediatest.Options{Sign: true})
		t.Cleanup(s.Close)
		key, secret := s.Credentials()
		creds := map[string]string{"apiKey": key, "apiSecret": secret}
		return fake{
			settings: sms.Settings{Provider: sms.MessageMedia, Sender: sender, APIBaseURL: s.URL(), Credentials: with(creds, "signaturePublicKey", s.PublicKeyPEM())},
			badKey:   "apiSecret",
			unsigned: creds,
			fail:     func() { s.FailNext(1) },
			hang:     func() { s.HangNext(1) },
			sent:     func() int { return len(s.Sent()) },
			deliver: func(t *testing.T, url string, _ map[string]string, from, text string) {
				resp, _, err := s.SendReply(context.Background(), url, from, sender, text, "")
				delivered(t, resp, err)
			},
			// Every message carries the inbound URL as its callback_url.
			pointed: func() string { cb := s.CallbackURLs(); return cb[len(cb)-1] },
		}
	}}
}
