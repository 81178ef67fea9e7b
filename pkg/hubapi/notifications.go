package hubapi

import (
	"context"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/notify"
	"github.com/contactsync/contactsync/pkg/safehttp"
	"github.com/contactsync/contactsync/pkg/store"
)

// MaxNotifyURL bounds a notification URL, in characters.
const MaxNotifyURL = 2048

// NotifyEndpointOut is a tenant's notification endpoint as the API shows
// it; Secret only in the answer that made it.
type NotifyEndpointOut struct {
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"createdAt"`
	Secret    string    `json:"secret,omitempty"`
}

// NotificationOut is one delivery in GET /v1/notifications.
type NotificationOut struct {
	ID             string     `json:"id"`
	Type           string     `json:"type"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	LastStatusCode int        `json:"lastStatusCode,omitempty"`
	LastError      string     `json:"lastError,omitempty"`
	CreatedAt      time.Time  `json:"createdAt"`
	LastAttemptAt  *time.Time `json:"lastAttemptAt,omitempty"`
	NextAttemptAt  *time.Time `json:"nextAttemptAt,omitempty"`
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// putNotifyEndpoint sets the tenant's notification URL and answers a new
// signing secret, shown this once; a second PUT rotates it.
func (h *Handler) putNotifyEndpoint(ctx context.Context, c call) apigw.Response {
	var in struct {
		URL string `json:"url"`
	}
	if resp, ok := decode(c.body, &in); !ok {
		return resp
	}
	switch {
	case in.URL == "":
		return apigw.Invalid(map[string]string{"url": "required"})
	case utf8.RuneCountInString(in.URL) > MaxNotifyURL:
		return apigw.Invalid(map[string]string{"url": "longer than 2048 characters"})
	}
	if _, err := safehttp.CheckURL(in.URL, h.d.AllowPrivateHosts, nil); err != nil {
		return apigw.Invalid(map[string]string{"url": err.Error()})
	}
	secret := notify.NewSecret()
	ep := store.NotifyEndpoint{URL: in.URL, Secret: h.d.Sealer.Seal(c.tenant, []byte(secret)), CreatedAt: h.d.Now().UTC()}
	if err := h.d.Store.PutNotifyEndpoint(ctx, c.tenant, ep); err != nil {
		return h.internal(ctx, "storing notification endpoint", err)
	}
	return apigw.JSON(http.StatusOK, NotifyEndpointOut{URL: ep.URL, CreatedAt: ep.CreatedAt, Secret: secret})
}

func (h *Handler) getNotifyEndpoint(ctx context.Context, c call) apigw.Response {
	ep, err := h.d.Store.GetNotifyEndpoint(ctx, c.tenant)
	if err != nil {
		return h.storeError(ctx, "notification endpoint", "reading notification endpoint", err)
	}
	return apigw.JSON(http.StatusOK, NotifyEndpointOut{URL: ep.URL, CreatedAt: ep.CreatedAt})
}

func (h *Handler) deleteNotifyEndpoint(ctx context.Context, c call) apigw.Response {
	err := h.d.Store.DeleteNotifyEndpoint(ctx, c.tenant)
	if err != nil {
		return h.storeError(ctx, "notification endpoint", "deleting notification endpoint", err)
	}
	return apigw.Response{StatusCode: http.StatusNoContent}
}

// listNotifications lists recent deliveries, newest first.
func (h *Handler) listNotifications(ctx context.Context, c call) apigw.Response {
	limit, cursor, bad := page(c.req)
	if bad != nil {
		return apigw.Invalid(bad)
	}
	ns, next, err := h.d.Store.ListNotifications(ctx, c.tenant, limit, cursor)
	if err != nil {
		return h.listError(ctx, err)
	}
	out := make([]NotificationOut, len(ns))
	for i, n := range ns {
		out[i] = NotificationOut{ID: n.ID, Type: n.Type, Status: n.Status, Attempts: n.Attempts, LastStatusCode: n.LastStatusCode,
			LastError: n.LastError, CreatedAt: n.CreatedAt, LastAttemptAt: timeOrNil(n.LastAttemptAt), NextAttemptAt: timeOrNil(n.NextAttemptAt)}
	}
	return apigw.JSON(http.StatusOK, listOf(out, next))
}
