package woocommerce

import (
	"encoding/json"
	"strings"
	"time"
)

// Address is a WooCommerce billing or shipping address.
type Address struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Company   string `json:"company,omitempty"`
	Address1  string `json:"address_1,omitempty"`
	City      string `json:"city,omitempty"`
	State     string `json:"state,omitempty"`
	Postcode  string `json:"postcode,omitempty"`
	Country   string `json:"country"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

// Meta is one meta_data entry. Values can be any JSON.
type Meta struct {
	ID    int64           `json:"id,omitempty"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// StringValue returns the meta value as a string ("" for non-scalars).
func (m Meta) StringValue() string {
	var s string
	if err := json.Unmarshal(m.Value, &s); err == nil {
		return s
	}
	v := strings.TrimSpace(string(m.Value))
	if v == "true" || v == "false" || (v != "" && (v[0] >= '0' && v[0] <= '9' || v[0] == '-')) {
		return v
	}
	return ""
}

// Customer is a WooCommerce customer (REST GET and webhook body).
type Customer struct {
	ID              int64   `json:"id"`
	DateCreatedGMT  WCTime  `json:"date_created_gmt"`
	DateModifiedGMT WCTime  `json:"date_modified_gmt"`
	Email           string  `json:"email"`
	FirstName       string  `json:"first_name"`
	LastName        string  `json:"last_name"`
	Role            string  `json:"role"`
	Username        string  `json:"username"`
	Billing         Address `json:"billing"`
	Shipping        Address `json:"shipping"`
	MetaData        []Meta  `json:"meta_data"`
}

// Order is the part of a WooCommerce order we read.
type Order struct {
	ID              int64   `json:"id"`
	CustomerID      int64   `json:"customer_id"`
	Status          string  `json:"status"`
	DateCreatedGMT  WCTime  `json:"date_created_gmt"`
	DateModifiedGMT WCTime  `json:"date_modified_gmt"`
	Billing         Address `json:"billing"`
	Shipping        Address `json:"shipping"`
	MetaData        []Meta  `json:"meta_data"`
}

// WCTime is WooCommerce's "2017-03-21T19:09:28" (GMT fields carry no zone).
type WCTime struct{ time.Time }

const wcLayout = "2006-01-02T15:04:05"

// UnmarshalJSON reads a WooCommerce timestamp; null and "" are zero.
func (t *WCTime) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == nil || *s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.Parse(wcLayout, strings.TrimSuffix(*s, "Z"))
	if err != nil {
		return err
	}
	t.Time = v.UTC()
	return nil
}

// MarshalJSON writes the WooCommerce layout.
func (t WCTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(wcLayout))
}
