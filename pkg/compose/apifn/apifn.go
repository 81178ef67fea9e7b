// Package apifn builds the api function's handler (functions/api): the Hub
// API. The function's main, the sandbox, `make invoke` and the tests build
// it here from a compose.Env, so they cannot drift apart; the main imports
// this package alone, so the function links and initializes the Hub API's
// packages and no other handler's.
package apifn

import (
	"context"
	"net/http"
	"time"

	"github.com/contactsync/contactsync/pkg/compose"
	"github.com/contactsync/contactsync/pkg/hubapi"
	"github.com/contactsync/contactsync/pkg/sms"
	"github.com/contactsync/contactsync/pkg/smsproviders"
)

// Name is the function's name in resources.Functions.
const Name = "api"

// FieldsTimeout bounds one platform request of a field listing made while
// a connection is saved (the API answers within API Gateway's 29 s).
const FieldsTimeout = 10 * time.Second

// SMSSetupRequestTimeout bounds one SMS provider request of PUT
// /v1/sms-provider (the whole is bounded by hubapi.SMSSetupTimeout).
const SMSSetupRequestTimeout = 10 * time.Second

// New is the Hub API built from e (as compose.Load or Env.For gives it).
func New(e compose.Env) *hubapi.Handler {
	st := e.Store()
	return hubapi.New(hubapi.Deps{
		Store: st, Sealer: e.Sealer, Starter: e.Starter(st), Outbox: e.Sender(e.Names.OutboxQueueURL),
		AdminToken: e.AdminToken, PublicBaseURL: e.PublicBaseURL, AllowPrivateHosts: e.AllowPrivateHosts, Log: e.Logger(),
		Notify:    e.Notifier(st),
		Platforms: e.Registry(hubapi.OptionsTimeout),
		Fields:    e.Registry(FieldsTimeout).Fields,
		OAuth:     e.OAuth,
		SMSSetup: func(ctx context.Context, s sms.Settings) (sms.InboundSetup, error) {
			return smsproviders.Default.Setup(ctx, s, &http.Client{Timeout: SMSSetupRequestTimeout}, e.AllowPrivateHosts)
		},
		Webhooks: e.Keeper(st),
	})
}
