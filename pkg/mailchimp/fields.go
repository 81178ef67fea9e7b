package mailchimp

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/contactsync/contactsync/pkg/source"
)

// maxMergeFieldPages bounds the merge-field listing (an audience has at
// most a few dozen merge fields; 1,000 a page).
const maxMergeFieldPages = 5

// mergeFieldTypes maps Mailchimp's merge field types to the hub's; the
// others (dropdown, radio, url, imageurl, zip...) are text.
var mergeFieldTypes = map[string]string{
	"number": source.FieldNumber, "date": source.FieldDate, "birthday": source.FieldBirthday,
	"phone": source.FieldPhone, "address": source.FieldAddress, "email": source.FieldEmail,
}

// Fields lists the audience's merge fields (GET /lists/{id}/merge-fields),
// keyed by merge tag (FNAME, MMERGE5...): source.FieldLister.
func (c *Client) Fields(ctx context.Context) ([]source.Field, error) {
	if c.cfg.AudienceID == "" {
		return nil, nil // no audience chosen yet (an OAuth draft)
	}
	var out []source.Field
	for page, offset := 0, 0; page < maxMergeFieldPages; page++ {
		var p struct {
			MergeFields []struct {
				Tag  string `json:"tag"`
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"merge_fields"`
			TotalItems int `json:"total_items"`
		}
		q := url.Values{"count": {"1000"}, "offset": {strconv.Itoa(offset)}, "fields": {"merge_fields.tag,merge_fields.name,merge_fields.type,total_items"}}
		if err := c.getPath(ctx, "/merge-fields", q, &p); err != nil {
			return nil, fmt.Errorf("mailchimp: listing merge fields: %w", err)
		}
		for _, f := range p.MergeFields {
			if f.Tag == "" {
				continue
			}
			typ := cmp.Or(mergeFieldTypes[f.Type], source.FieldText)
			out = append(out, source.Field{Key: f.Tag, Label: f.Name, Type: typ})
		}
		offset += len(p.MergeFields)
		if len(p.MergeFields) == 0 || offset >= p.TotalItems {
			break
		}
	}
	return out, nil
}

// mappedFields returns the member's values of the merge fields the map
// names, as text by merge tag (numbers as written, an address as its
// parts joined); the store maps and types them.
func (m *Member) mappedFields(fieldMap map[string]string) map[string]string {
	var out map[string]string
	for k := range fieldMap {
		raw, ok := m.MergeFields[k]
		if !ok {
			continue
		}
		if v := mergeText(raw); v != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// mergeText reads a merge field value: a string, a number, or an address
// object.
func mergeText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	var a struct {
		Addr1, Addr2, City, State, Zip, Country string
	}
	if json.Unmarshal(raw, &a) == nil {
		var parts []string
		for _, p := range []string{a.Addr1, a.Addr2, a.City, a.State, a.Zip, a.Country} {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		return strings.Join(parts, ", ")
	}
	return ""
}

var _ source.FieldLister = (*Client)(nil)
