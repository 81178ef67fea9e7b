package hubapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// Platforms calls a connection's platform for the Hub API: the credential
// check at create time (and when credentials change) and the install
// options. connectors.Registry implements it.
type Platforms interface {
	CheckCredentials(ctx context.Context, conn store.Connection, cfg map[string]string) error
	InstallOptions(ctx context.Context, conn store.Connection, cfg map[string]string) (source.InstallOptions, error)
}

// Time limits of the platform calls, each also cut to the request's
// deadline (deadline.go).
const (
	CheckTimeout   = 10 * time.Second
	OptionsTimeout = 25 * time.Second
)

// checkCredentials makes the platform's one cheap call with cfg. It
// answers 422 credentials_rejected with the platform's reason when the
// platform refused them, 502 platform_unreachable when it could not tell
// (unreachable host, 5xx, time-out); ok is true when they were accepted
// or no Platforms is configured (tests of the API alone).
func (h *Handler) checkCredentials(ctx context.Context, conn store.Connection, cfg map[string]string) (apigw.Response, bool) {
	if h.d.Platforms == nil {
		return apigw.Response{}, true
	}
	cctx, cancel := stepContext(ctx, CheckTimeout, StoreReserve)
	defer cancel()
	err := h.d.Platforms.CheckCredentials(cctx, conn, cfg)
	if err == nil {
		return apigw.Response{}, true
	}
	var rej *source.CredentialsRejectedError
	if errors.As(err, &rej) {
		return errorWithReason(http.StatusUnprocessableEntity, "credentials_rejected",
			"the platform refused these credentials; nothing was stored", rej.Reason), false
	}
	h.d.Log.WarnContext(ctx, "credential check failed", "platform", conn.Platform, "err", err)
	return errorWithReason(http.StatusBadGateway, "platform_unreachable",
		"the platform could not check these credentials; nothing was stored", platformReason(cctx, err)), false
}

// platformReason is what to show of a platform failure.
func platformReason(ctx context.Context, err error) string {
	var pe *source.PlatformError
	var rej *source.CredentialsRejectedError
	switch {
	case errors.As(err, &rej):
		return rej.Reason
	case errors.As(err, &pe):
		return pe.Reason
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return "the platform did not answer in time"
	}
	return "the platform call failed"
}

func errorWithReason(status int, code, message, reason string) apigw.Response {
	return apigw.JSON(status, map[string]any{"error": map[string]string{"code": code, "message": message, "reason": reason}})
}

// optionsOut is GET /v1/connections/{id}/options.
type optionsOut struct {
	ConnectionID string `json:"connectionId"`
	Platform     string `json:"platform"`
	source.InstallOptions
}

// getOptions lists what the install wizard offers for the connection
// (source.InstallOptions, with the connector's fields), calling the
// platform with the stored credentials: each list bounded
// (source.MaxOptions, truncated beyond), the whole within OptionsTimeout.
// A platform failure is 502 with the platform's reason.
func (h *Handler) getOptions(ctx context.Context, c call) apigw.Response {
	conn, cfg, errResp := h.loadConnection(ctx, c)
	if errResp != nil {
		return *errResp
	}
	if h.d.Platforms == nil {
		return apigw.Error(http.StatusServiceUnavailable, "options_unavailable", "install options are not available here")
	}
	octx, cancel := stepContext(ctx, OptionsTimeout, AnswerReserve)
	defer cancel()
	opts, err := h.d.Platforms.InstallOptions(octx, conn, cfg)
	if err != nil {
		h.d.Log.WarnContext(ctx, "install options failed", "platform", conn.Platform, "err", err)
		code := "platform_error"
		var rej *source.CredentialsRejectedError
		if errors.As(err, &rej) {
			code = "platform_rejected"
		} else if octx.Err() != nil {
			code = "platform_timeout"
		}
		return errorWithReason(http.StatusBadGateway, code, "the platform's listing failed", platformReason(octx, err))
	}
	return apigw.JSON(http.StatusOK, optionsOut{ConnectionID: conn.ID, Platform: conn.Platform, InstallOptions: opts})
}
