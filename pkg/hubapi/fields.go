package hubapi

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"

	"github.com/contactsync/contactsync/pkg/apigw"
	"github.com/contactsync/contactsync/pkg/merge"
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// customFieldName is what a field map may name as a custom hub field:
// a letter, then letters, digits and _ (at most 40 characters), so it is
// a plain JSON key and CSV column everywhere.
var customFieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,39}$`)

// fieldMapError is the 422 a field map that cannot be used gets.
type fieldMapError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		// Field is the source field (the map's key) at fault.
		Field string `json:"field"`
	} `json:"error"`
}

func fieldMapInvalid(field, message string) apigw.Response {
	var e fieldMapError
	e.Error.Code, e.Error.Message, e.Error.Field = "field_map_invalid", message, field
	return apigw.JSON(http.StatusUnprocessableEntity, e)
}

// checkFieldTargets checks what a field map maps to: the hub's own fields
// (firstName, lastName, phone, email: each from one source field at most)
// or a custom field name (customFieldName).
func checkFieldTargets(fm map[string]string) *apigw.Response {
	keys := sortedKeys(fm)
	core := map[string]string{}
	for _, k := range keys {
		hub := fm[k]
		switch {
		case k == "":
			r := fieldMapInvalid(k, "a source field name is empty")
			return &r
		case merge.CoreField(hub):
			if other, dup := core[hub]; dup {
				r := fieldMapInvalid(k, fmt.Sprintf("%q and %q are both mapped to %s: map one source field to it", other, k, hub))
				return &r
			}
			core[hub] = k
		case !customFieldName.MatchString(hub):
			r := fieldMapInvalid(k, fmt.Sprintf("%q maps to %q: map to firstName, lastName, phone, email or a custom field name (a letter, then letters, digits or _, at most 40)", k, hub))
			return &r
		}
	}
	return nil
}

// checkFieldMap validates a connection's field map against its platform's
// fields (Deps.Fields) and returns the declared type of each mapped
// source field, for conn.FieldTypes. The connection's config must be
// sealed in it already. A source field the platform does not list is a
// 422 field_map_invalid naming it; a platform that cannot be reached is a
// 502 (nothing is stored).
func (h *Handler) checkFieldMap(ctx context.Context, conn store.Connection) (map[string]string, *apigw.Response) {
	if len(conn.FieldMap) == 0 {
		return nil, nil
	}
	if r := checkFieldTargets(conn.FieldMap); r != nil {
		return nil, r
	}
	if h.d.Fields == nil {
		return nil, nil // no platform access (tests of the API alone)
	}
	fctx, cancel := stepContext(ctx, CheckTimeout, StoreReserve)
	defer cancel()
	fields, err := h.d.Fields(fctx, conn)
	if err != nil {
		// The error may name the platform's URL: logged, not shown.
		h.d.Log.WarnContext(ctx, "listing platform fields failed", "platform", conn.Platform, "connection", conn.ID, "err", err)
		r := apigw.Error(http.StatusBadGateway, "platform_unavailable",
			"could not list the "+h.label(conn.Platform)+" fields to check the field map; nothing was saved, try again")
		return nil, &r
	}
	byKey := make(map[string]source.Field, len(fields))
	for _, f := range fields {
		byKey[f.Key] = f
	}
	types := map[string]string{}
	for _, k := range sortedKeys(conn.FieldMap) {
		f, ok := byKey[k]
		if !ok {
			r := fieldMapInvalid(k, fmt.Sprintf("%q is not a field of this %s connection (GET /v1/connections/{id}/options lists them)", k, h.label(conn.Platform)))
			return nil, &r
		}
		if f.Type != "" && f.Type != source.FieldText {
			types[k] = f.Type
		}
	}
	if len(types) == 0 {
		types = nil
	}
	return types, nil
}

func sortedKeys(m map[string]string) []string {
	keys := slices.Sorted(maps.Keys(m))
	return keys
}

// maxTypePages bounds the connection pages read for custom field types.
const maxTypePages = 10

// customTypes returns the tenant's custom hub fields with their declared
// types (from every connection's field map; two connections that declare
// one field differently make it text), for the contact representation and
// the CSV columns.
func (h *Handler) customTypes(ctx context.Context, tenant string) (map[string]string, error) {
	out := map[string]string{}
	cursor := ""
	for range maxTypePages {
		conns, next, err := h.d.Store.ListConnections(ctx, tenant, 100, cursor)
		if err != nil {
			return nil, err
		}
		for _, c := range conns {
			for k, hub := range c.FieldMap {
				if hub == "" || merge.CoreField(hub) {
					continue
				}
				t := cmp.Or(c.FieldTypes[k], source.FieldText)
				if seen, ok := out[hub]; ok && seen != t {
					t = source.FieldText
				}
				out[hub] = t
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return out, nil
}

// customFields renders a contact's custom fields typed: a number field as
// a JSON number, the others (dates YYYY-MM-DD, birthdays MM-DD, text) as
// strings. A value stored before its field was typed, that does not parse
// as the type, is shown as text.
func customFields(v store.ContactView, types map[string]string) map[string]any {
	out := map[string]any{}
	for name, f := range v.Custom {
		if f.Value == "" {
			continue
		}
		if types[name] == source.FieldNumber {
			if _, err := strconv.ParseFloat(f.Value, 64); err == nil {
				out[name] = json.Number(f.Value)
				continue
			}
		}
		out[name] = f.Value
	}
	return out
}

// customColumns are the CSV export's custom field columns: the tenant's
// mapped custom fields, sorted.
func customColumns(types map[string]string) []string {
	return sortedKeys(types)
}
