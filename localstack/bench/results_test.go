package main

import (
	"strings"
	"testing"
)

// A -webhooks-only run shows its webhook rows, not zero ceilings, units
// and costs it never measured; a whole run shows them all.
func TestMarkdown_WebhooksOnlyShowsWhatItMeasured(t *testing.T) {
	r := &results{Webhooks: []webhookResult{{Rate: 200, Requests: 10, Exact: true}}}
	r.Settings.WebhooksOnly = true
	md := r.markdown()
	for _, absent := range []string{"ceiling", "capacity per", "cost per million"} {
		if strings.Contains(md, absent) {
			t.Errorf("a webhooks-only table shows %q:\n%s", absent, md)
		}
	}
	if !strings.Contains(md, "webhooks at 200/s") {
		t.Errorf("the webhook row is missing:\n%s", md)
	}
	r.Settings.WebhooksOnly = false
	if md := r.markdown(); !strings.Contains(md, "DynamoDB Local ceiling") || !strings.Contains(md, "cost per million contacts, install sync") {
		t.Errorf("a whole run's table lost its rows:\n%s", md)
	}
}
