package sandbox_test

import "testing"

// TestOAuth_MailchimpDraftListsAudiencesThenTheChosenOnesOptions: an
// OAuth-installed Mailchimp draft has no audience yet; GET /options lists
// the account's audiences (the wizard's first choice) instead of failing,
// and once the PATCH chose one, that audience's tags, segments and merge
// fields too.
func TestOAuth_MailchimpDraftListsAudiencesThenTheChosenOnesOptions(t *testing.T) {
	t.Parallel()
	o := startOAuthStack(t)
	id := o.install(map[string]any{"platform": "mailchimp"})
	code, out := o.c.call("GET", "/v1/connections/"+id+"/options", o.key, nil)
	if code != 200 {
		t.Fatalf("options of a draft without an audience: %d %v", code, out)
	}
	found := false
	for _, it := range out["audiences"].(map[string]any)["items"].([]any) {
		found = found || it.(map[string]any)["id"] == o.mc.AudienceID()
	}
	if !found || out["tags"] != nil || out["fields"] != nil {
		t.Fatalf("options before the choice: %v, want the audiences only", out)
	}
	if code, out := o.c.call("PATCH", "/v1/connections/"+id, o.key, map[string]any{"config": map[string]string{"audienceId": o.mc.AudienceID()}}); code != 200 {
		t.Fatalf("PATCH audienceId: %d %v", code, out)
	}
	code, out = o.c.call("GET", "/v1/connections/"+id+"/options", o.key, nil)
	if code != 200 || out["tags"] == nil || out["segments"] == nil || len(out["fields"].([]any)) == 0 {
		t.Fatalf("options after the choice: %d %v", code, out)
	}
	if code, out := o.c.call("PATCH", "/v1/connections/"+id, o.key, map[string]any{"consentMode": "inferred", "defaultRegion": "AU"}); code != 200 {
		t.Fatalf("PATCH: %d %v", code, out)
	}
	if code, out := o.c.call("POST", "/v1/connections/"+id+"/activate", o.key, nil); code != 202 {
		t.Fatalf("activate: %d %v", code, out)
	}
}
