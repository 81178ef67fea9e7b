package hubapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/notify"
	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/schedule"
	"github.com/contactsync/contactsync/pkg/store"
)

// Consent modes (design.md section 4).
var consentModes = map[string]bool{"explicit": true, "inferred": true, "confirmation": true, "double_opt_in": true}

var regionRE = regexp.MustCompile(`^[A-Z]{2}$`)

type connectionIn struct {
	Platform          string            `json:"platform"`
	Label             *string           `json:"label"`
	ConsentMode       *string           `json:"consentMode"`
	DefaultRegion     *string           `json:"defaultRegion"`
	SelectedTags      []string          `json:"selectedTags"`
	FieldMap          map[string]string `json:"fieldMap"`
	WriteBackOptOuts  *bool             `json:"writeBackOptOuts"`
	SyncIntervalHours *int              `json:"syncIntervalHours"`
	Enabled           *bool             `json:"enabled"`
	Config            map[string]string `json:"config"`
	// DoubleOptInExpiryDays (1-365, default 30) and DoubleOptInReminderDays
	// (0 = no reminder, else fewer than the expiry days).
	DoubleOptInExpiryDays   *int `json:"doubleOptInExpiryDays"`
	DoubleOptInReminderDays *int `json:"doubleOptInReminderDays"`
	// Status "draft" (create only) stores the connection without starting
	// its install sync; POST /v1/connections/{id}/activate starts it.
	Status *string `json:"status"`
}

// ConnectionOut is a connection as the API shows it (no secrets).
type ConnectionOut struct {
	ID                string            `json:"id"`
	Platform          string            `json:"platform"`
	Label             string            `json:"label"`
	ConsentMode       string            `json:"consentMode"`
	DefaultRegion     string            `json:"defaultRegion"`
	SelectedTags      []string          `json:"selectedTags,omitempty"`
	FieldMap          map[string]string `json:"fieldMap,omitempty"`
	WriteBackOptOuts  bool              `json:"writeBackOptOuts"`
	SyncIntervalHours int               `json:"syncIntervalHours"`
	Enabled           bool              `json:"enabled"`
	Config            map[string]string `json:"config"`
	WebhookURL        string            `json:"webhookUrl"`
	// DoubleOptInExpiryDays and DoubleOptInReminderDays apply to double
	// opt-in requests that are never answered.
	DoubleOptInExpiryDays   int        `json:"doubleOptInExpiryDays"`
	DoubleOptInReminderDays int        `json:"doubleOptInReminderDays"`
	LastSyncAt              *time.Time `json:"lastSyncAt,omitempty"`
	// NextSyncAt is when the scheduler syncs the connection next (an
	// active, enabled connection only).
	NextSyncAt *time.Time `json:"nextSyncAt,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	SyncID     string     `json:"syncId,omitempty"`
	// Status is active, draft (authorised, not syncing until activated),
	// needs_reauthorization (its token could not be refreshed) or
	// disconnected (the app was uninstalled from the platform).
	Status string `json:"status"`
	// Webhooks is the state of the platform webhook subscriptions we keep
	// (Shopify, WooCommerce, Mailchimp; absent before the first registration).
	Webhooks *WebhooksOut `json:"webhooks,omitempty"`
}

func (h *Handler) connectionOut(c store.Connection, secrets map[string]string) ConnectionOut {
	out := ConnectionOut{
		ID: c.ID, Platform: c.Platform, Label: c.Label, ConsentMode: c.ConsentMode, DefaultRegion: c.DefaultRegion,
		SelectedTags: c.SelectedTags, FieldMap: c.FieldMap, WriteBackOptOuts: c.WriteBackOptOuts,
		SyncIntervalHours: c.SyncIntervalHours, Enabled: c.Enabled, Config: c.PublicConfig,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		WebhookURL:            h.d.PublicBaseURL + "/webhooks/" + c.Platform + "/" + c.ID,
		DoubleOptInExpiryDays: expiryDays(c), DoubleOptInReminderDays: c.DoubleOptInReminderDays,
		Status: statusOut(c.Status),
	}
	if out.Config == nil {
		out.Config = map[string]string{}
	}
	if !c.LastSyncAt.IsZero() {
		t := c.LastSyncAt
		out.LastSyncAt = &t
	}
	if c.Enabled && c.Status == "" && !c.NextSyncAt.IsZero() {
		t := c.NextSyncAt
		out.NextSyncAt = &t
	}
	if tok := secrets["webhookToken"]; tok != "" {
		out.WebhookURL += "?token=" + url.QueryEscape(tok)
	}
	return out
}

// validateConnection checks the connection a create or patch would
// produce; it returns invalid fields by name.
func (h *Handler) validateConnection(c store.Connection, cfg map[string]string) map[string]string {
	bad := h.checkConfig(c, cfg)
	if bad["platform"] != "" {
		return bad
	}
	if !consentModes[c.ConsentMode] {
		bad["consentMode"] = "must be one of explicit, inferred, confirmation, double_opt_in"
	}
	if !regionRE.MatchString(c.DefaultRegion) {
		bad["defaultRegion"] = "must be an ISO 3166-1 alpha-2 code such as US or AU"
	}
	if c.SyncIntervalHours < 1 || c.SyncIntervalHours > 24*7 {
		bad["syncIntervalHours"] = "must be from 1 to 168"
	}
	maps.Copy(bad, validatePendingPolicy(c))
	maps.Copy(bad, connectionBounds(c, cfg))
	return bad
}

func (h *Handler) createConnection(ctx context.Context, c call) apigw.Response {
	var in connectionIn
	if resp, ok := decode(c.body, &in); !ok {
		return resp
	}
	conn := store.Connection{
		TenantID: c.tenant, ID: store.NewConnectionID(c.tenant), Platform: in.Platform,
		SyncIntervalHours: 24, Enabled: true, SelectedTags: in.SelectedTags, FieldMap: in.FieldMap,
		DoubleOptInExpiryDays: consent.DefaultDoubleOptInExpiryDays,
	}
	spec, _ := h.spec(in.Platform)
	conn.Label = cmp.Or(spec.Label, in.Platform)
	applyPatch(&conn, in)
	cfg := in.Config
	if cfg == nil {
		cfg = map[string]string{}
	}
	for _, k := range spec.KeysWith(platform.Generated) {
		cfg[k] = randomToken()
	}
	for _, k := range spec.KeysWith(platform.GeneratedIfEmpty) {
		if cfg[k] == "" {
			cfg[k] = randomToken()
		}
	}
	if bad := rejectServerManaged(in.Config); len(bad) > 0 {
		return apigw.Invalid(bad)
	}
	recordRotation(spec, nil, in.Config, cfg, h.d.Now())
	if in.Status != nil {
		switch *in.Status {
		case store.StatusDraft:
			conn.Status = store.StatusDraft
		case "active":
		default:
			return apigw.Invalid(map[string]string{"status": "must be draft or active"})
		}
	}
	if bad := draftTolerated(merged(h.validateConnection(conn, cfg), checkPendingInput(in)), conn); len(bad) > 0 {
		return apigw.Invalid(bad)
	}
	if bad := h.checkOutbound(conn, cfg); len(bad) > 0 {
		return apigw.Invalid(bad)
	}
	if resp, ok := h.checkCredentials(ctx, conn, cfg); !ok {
		return resp
	}
	if err := h.sealConfig(&conn, cfg); err != nil {
		return h.internal(ctx, "sealing config", err)
	}
	types, resp := h.checkFieldMap(ctx, conn)
	if resp != nil {
		return *resp
	}
	conn.FieldTypes = types
	conn.NextSyncAt = schedule.AfterStart(conn.TenantID, conn.ID, conn.SyncIntervalHours, h.d.Now())
	// Answer from the stored connection (its timestamps and version), not
	// from the copy that was sent.
	conn, err := h.d.Store.InsertConnection(ctx, conn)
	if err != nil {
		return h.internal(ctx, "creating connection", err)
	}
	out := h.connectionOut(conn, cfg)
	if !conn.Enabled || conn.Status == store.StatusDraft {
		// Nothing syncs a disabled connection, its install included;
		// enabling it later catches up at the next scheduler tick.
		return apigw.JSON(http.StatusCreated, out)
	}
	run, err := h.d.Starter.Start(ctx, c.tenant, conn.ID, store.TriggerInstall, false, time.Time{})
	if err != nil {
		return h.internal(ctx, "starting install sync", err)
	}
	out.SyncID = run.ID
	// Pasted keys activate the connection at once (a draft is activated
	// by POST /v1/connections/{id}/activate).
	h.d.Notify.EmitLogged(ctx, c.tenant, notify.Activated(conn, run))
	h.registerWebhooks(ctx, conn, &out)
	return apigw.JSON(http.StatusCreated, out)
}

func applyPatch(conn *store.Connection, in connectionIn) {
	patch(&conn.Label, in.Label)
	patch(&conn.ConsentMode, in.ConsentMode)
	if in.DefaultRegion != nil {
		conn.DefaultRegion = strings.ToUpper(*in.DefaultRegion)
	}
	if in.SelectedTags != nil {
		conn.SelectedTags = in.SelectedTags
	}
	if in.FieldMap != nil {
		conn.FieldMap = in.FieldMap
	}
	patch(&conn.WriteBackOptOuts, in.WriteBackOptOuts)
	patch(&conn.SyncIntervalHours, in.SyncIntervalHours)
	patch(&conn.Enabled, in.Enabled)
	patch(&conn.DoubleOptInExpiryDays, in.DoubleOptInExpiryDays)
	patch(&conn.DoubleOptInReminderDays, in.DoubleOptInReminderDays)
}

// patch sets *dst to the value a PATCH gave (v nil: not given, kept).
func patch[T any](dst, v *T) {
	if v != nil {
		*dst = *v
	}
}

// sealConfig splits cfg into the sealed whole and the public part.
func (h *Handler) sealConfig(conn *store.Connection, cfg map[string]string) error {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	conn.Config = h.d.Sealer.Seal(conn.TenantID, raw)
	spec, _ := h.spec(conn.Platform)
	conn.PublicConfig = map[string]string{}
	for k, v := range cfg {
		if !spec.Has(k, platform.Secret) {
			conn.PublicConfig[k] = v
		}
	}
	return nil
}

// OpenConfig returns a connection's full (secret) config.
func OpenConfig(s interface {
	Open(string, []byte) ([]byte, error)
}, conn store.Connection) (map[string]string, error) {
	raw, err := s.Open(conn.TenantID, conn.Config)
	if err != nil {
		return nil, err
	}
	var cfg map[string]string
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (h *Handler) loadConnection(ctx context.Context, c call) (store.Connection, map[string]string, *apigw.Response) {
	conn, err := h.d.Store.GetConnection(ctx, c.tenant, c.params["id"])
	if err != nil {
		resp := h.storeError(ctx, "connection", "reading connection", err)
		return conn, nil, &resp
	}
	cfg, err := OpenConfig(h.d.Sealer, conn)
	if err != nil {
		resp := h.internal(ctx, "opening connection config", err)
		return conn, nil, &resp
	}
	return conn, cfg, nil
}

func (h *Handler) getConnection(ctx context.Context, c call) apigw.Response {
	conn, cfg, errResp := h.loadConnection(ctx, c)
	if errResp != nil {
		return *errResp
	}
	out := h.connectionOut(conn, cfg)
	h.withWebhooks(ctx, c.tenant, &out)
	return apigw.JSON(http.StatusOK, out)
}

func (h *Handler) listConnections(ctx context.Context, c call) apigw.Response {
	limit, cursor, bad := page(c.req)
	if bad != nil {
		return apigw.Invalid(bad)
	}
	conns, next, err := h.d.Store.ListConnections(ctx, c.tenant, limit, cursor)
	if err != nil {
		return h.listError(ctx, err)
	}
	out := make([]ConnectionOut, 0, len(conns))
	for _, conn := range conns {
		cfg, err := OpenConfig(h.d.Sealer, conn)
		if err != nil {
			return h.internal(ctx, "opening connection config", err)
		}
		o := h.connectionOut(conn, cfg)
		h.withWebhooks(ctx, c.tenant, &o)
		out = append(out, o)
	}
	return apigw.JSON(http.StatusOK, listOf(out, next))
}

func (h *Handler) patchConnection(ctx context.Context, c call) apigw.Response {
	var in connectionIn
	if resp, ok := decode(c.body, &in); !ok {
		return resp
	}
	if in.Platform != "" {
		return apigw.Invalid(map[string]string{"platform": "cannot be changed"})
	}
	if in.Status != nil {
		return apigw.Invalid(map[string]string{"status": "set by activate and by authorisations"})
	}
	conn, cfg, errResp := h.loadConnection(ctx, c)
	if errResp != nil {
		return *errResp
	}
	wasEnabled := conn.Enabled
	old := conn
	applyPatch(&conn, in)
	h.clearReauthorization(&conn, in.Config)
	if bad := rejectServerManaged(in.Config); len(bad) > 0 {
		return apigw.Invalid(bad)
	}
	before := maps.Clone(cfg)
	if !wasEnabled && conn.Enabled && conn.NextSyncAt.After(h.d.Now()) {
		// Re-enabled: due at the next scheduler tick, which catches up with
		// an incremental run since the last sync (full if none, or if the
		// last full sync is a week old).
		conn.NextSyncAt = h.d.Now()
	}
	maps.Copy(cfg, in.Config)
	spec, _ := h.spec(conn.Platform)
	recordRotation(spec, before, in.Config, cfg, h.d.Now())
	if bad := draftTolerated(merged(h.validateConnection(conn, cfg), checkPendingInput(in)), conn); len(bad) > 0 {
		return apigw.Invalid(bad)
	}
	if bad := h.checkOutbound(conn, cfg); len(bad) > 0 {
		return apigw.Invalid(bad)
	}
	if spec.Changed(platform.Credential, before, cfg) {
		if resp, ok := h.checkCredentials(ctx, conn, cfg); !ok {
			return resp
		}
	}
	if err := h.sealConfig(&conn, cfg); err != nil {
		return h.internal(ctx, "sealing config", err)
	}
	if in.FieldMap != nil {
		types, resp := h.checkFieldMap(ctx, conn)
		if resp != nil {
			return *resp
		}
		conn.FieldTypes = types
	}
	conn, err := h.d.Store.UpdateConnection(ctx, conn)
	if errors.Is(err, store.ErrConflict) {
		return apigw.Error(http.StatusConflict, "conflict", "the connection changed meanwhile; retry")
	}
	if err != nil {
		return h.internal(ctx, "updating connection", err)
	}
	out := h.connectionOut(conn, cfg)
	switch {
	case wasEnabled && !conn.Enabled && conn.Status == "":
		h.removeWebhooks(ctx, conn, false) // re-created when it is enabled again
	case !wasEnabled && conn.Enabled && conn.Status == "":
		h.registerWebhooks(ctx, conn, &out)
	case wasEnabled && conn.Enabled && old.Status == "" && conn.Status == "" && webhooksMoved(spec, before, cfg):
		// Another store or keys, or a new secret the platform signs with
		// (WooCommerce keeps one per webhook): the old subscriptions go,
		// new ones are made with the new settings.
		h.removeWebhooks(ctx, old, false)
		h.registerWebhooks(ctx, conn, &out)
	}
	if out.Webhooks == nil {
		h.withWebhooks(ctx, c.tenant, &out)
	}
	return apigw.JSON(http.StatusOK, out)
}

func (h *Handler) deleteConnection(ctx context.Context, c call) apigw.Response {
	conn, err := h.d.Store.GetConnection(ctx, c.tenant, c.params["id"])
	if err != nil {
		return h.storeError(ctx, "connection", "reading connection", err)
	}
	// Our subscriptions go first (a disconnected shop has none left, and
	// its token no longer works: nothing is called).
	if conn.Status != store.StatusDisconnected {
		h.removeWebhooks(ctx, conn, true)
	} else {
		h.removeWebhookState(ctx, conn)
	}
	err = h.d.Store.DeleteConnection(ctx, c.tenant, c.params["id"])
	if err != nil {
		return h.storeError(ctx, "connection", "deleting connection", err)
	}
	return apigw.Response{StatusCode: http.StatusNoContent}
}
