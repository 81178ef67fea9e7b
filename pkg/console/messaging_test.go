package console_test

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/chromedp/chromedp"

	"github.com/contactsync/contactsync/pkg/sms/twilio/twiliotest"
)

// messaging sets the tenant's SMS provider up on the Messaging page, the
// way the demo does with PUT /v1/sms-provider, as part of
// TestConsole_InABrowser (the later steps send through it): the empty
// state with the default texts; Twilio's fields (the token a password
// field); a 400 shown next to the field it names; the fake Twilio's
// refusal of a wrong token next to the form, nothing stored; the right
// token saved, with the number's inbound URL pointed at us, the tenant's
// own confirmation text at 2 credits, and no secret in the page; a reload
// shows the stored settings in the form.
func (h *harness) messaging(twilio *twiliotest.Server, tenantID, key, sender, ownConfirmation, confirmationText string) {
	t := h.t
	t.Helper()
	sid, token := twilio.Credentials()
	h.waitJS("the Messaging link in the navigation", `document.querySelector('#nav a[href="#/messaging"]')`)
	h.do(chromedp.Click(`#nav a[href="#/messaging"]`))
	h.waitJS("the Messaging page before any set-up", `document.querySelector('#sms-form') && document.querySelector('main .empty') && document.querySelector('#tpl-confirmation') &&
		document.querySelector('#nav a[aria-current="page"]').textContent === 'Messaging'`)
	if got := h.text("#tpl-confirmation"); !strings.Contains(got, "{company}") || !strings.Contains(got, "1 credit each") {
		t.Errorf("before set-up the confirmation shows %q, want the default text with {company} and 1 credit", got)
	}
	h.check("messaging-empty")

	// Each provider's own fields, the secrets as password fields.
	fields := func() string {
		s, err := chromedp.Run(h.ctx, chromedp.Evaluate[string](`document.querySelector('#f-provider').value + ' ' +
			[...document.querySelectorAll('#sms-credentials input, #sms-credentials textarea')].map(i => i.name + ':' + i.type + (i.required ? ':required' : '')).join(' ')`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	choose := func(provider string) {
		h.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(s => { s.value = %q; s.dispatchEvent(new Event('change')); })(document.querySelector('#f-provider'))`, provider)))
	}
	if got, want := fields(), "twilio credentials.accountSid:text:required credentials.authToken:password:required"; got != want {
		t.Errorf("Twilio's fields: %q, want %q", got, want)
	}
	choose("sinch")
	if got, want := fields(), "sinch credentials.servicePlanId:text:required credentials.apiToken:password:required credentials.webhookSecret:password"; got != want {
		t.Errorf("Sinch's fields: %q, want %q", got, want)
	}
	choose("twilio")
	// The keyboard: from the provider, Tab reaches its first credential.
	h.do(chromedp.Focus("#f-provider"), chromedp.KeyEvent("\t"))
	h.waitJS("the focus on the first credential", `document.activeElement.name === 'credentials.accountSid'`)

	// A base URL with a query: the API's 400 names the field, and the page
	// shows it there (opening its section) and focuses it.
	h.do(chromedp.SendKeys(`[name="credentials.accountSid"]`, sid), chromedp.SendKeys(`[name="credentials.authToken"]`, "not-the-token"),
		chromedp.SendKeys("#f-sender", sender), chromedp.SendKeys("#f-companyName", "Console Co"),
		chromedp.Click("#sms-texts summary"), chromedp.SendKeys(`[name="templates.confirmation"]`, ownConfirmation),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#f-apiBaseUrl').value = '`+h.app.BaseURL+`/_fakes/twilio?region=au'`),
		chromedp.Click("#sms-save"))
	h.waitJS("the 400 next to its field", `document.querySelector('#sms-advanced').open && document.querySelector('[data-error-for="apiBaseUrl"]').textContent.includes('query') &&
		document.querySelector('#f-apiBaseUrl').getAttribute('aria-invalid') === 'true' && document.activeElement.id === 'f-apiBaseUrl'`)

	// The wrong token: Twilio's refusal next to the form; nothing stored.
	h.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#f-apiBaseUrl').value = ''`), chromedp.SendKeys("#f-apiBaseUrl", h.app.BaseURL+"/_fakes/twilio"),
		chromedp.Click("#sms-save"))
	h.waitJS("Twilio's refusal next to the form", `document.querySelector('#sms-form-error').textContent.includes('Twilio refused these credentials: Authenticate') &&
		document.querySelector('[data-error-for="apiBaseUrl"]').textContent === '' && !document.querySelector('#f-apiBaseUrl').hasAttribute('aria-invalid')`)
	if code, out := h.api("GET", "/v1/sms-provider", key, nil); code != http.StatusNotFound {
		t.Fatalf("after the refusal the provider is stored: %d %v", code, out)
	}
	h.check("messaging-refused")

	// The right token: saved; Twilio's number now sends its replies to us.
	h.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('[name="credentials.authToken"]').value = ''`),
		chromedp.SendKeys(`[name="credentials.authToken"]`, token), chromedp.Click("#sms-save"))
	h.waitJS("the saved settings", `!document.querySelector('#sms-result').hidden && document.activeElement.id === 'sms-result-title' &&
		document.querySelector('#sms-inbound').textContent.includes('come to contactsync') && document.querySelector('#sms-current') &&
		document.querySelector('#sms-form-error').textContent === ''`)
	inbound := h.app.PublicBaseURL + "/sms/inbound/twilio/" + tenantID
	if url, method, _ := twilio.SMSURL(sender); url != inbound || method != http.MethodPost {
		t.Errorf("the Twilio number's SmsUrl is %s %q, want POST %q", method, url, inbound)
	}
	if got := h.text("#sms-inbound"); !strings.Contains(got, "SmsUrl of Twilio number "+sender) {
		t.Errorf("the result says %q, want what was set up", got)
	}
	if got := h.text("#tpl-confirmation"); !strings.Contains(got, confirmationText) || !strings.Contains(got, "2 credits each") {
		t.Errorf("the confirmation shows %q, want the tenant's text %q and 2 credits each", got, confirmationText)
	}
	if got := h.text("#tpl-opt_out_confirmation"); !strings.Contains(got, "Console Co") || !strings.Contains(got, "1 credit each") || !strings.Contains(got, "the default text") {
		t.Errorf("the opt-out confirmation shows %q, want the default with the company and 1 credit", got)
	}
	if got := h.text("#sms-current"); !strings.Contains(got, "Account SID, Auth token (not shown)") || !strings.Contains(got, "Console Co") || !strings.Contains(got, inbound) {
		t.Errorf("the current settings show %q", got)
	}
	page, err := chromedp.Run(h.ctx, chromedp.Evaluate[string](`document.body.innerText + [...document.querySelectorAll('input, textarea')].map(i => i.value).join(' ')`))
	if err != nil || strings.Contains(page, token) {
		t.Errorf("the page shows the auth token after saving (%v)", err)
	}
	h.check("messaging")

	// Again later: the stored settings fill the form, the secrets do not.
	h.do(chromedp.Navigate("about:blank"), chromedp.Navigate(h.app.BaseURL+"/console#/messaging"))
	h.waitJS("the stored settings in the form", fmt.Sprintf(`document.querySelector('#sms-current') && document.querySelector('#f-provider').value === 'twilio' &&
		document.querySelector('#f-sender').value === %q && document.querySelector('[name="templates.confirmation"]').value === %q &&
		document.querySelector('[name="credentials.authToken"]').value === '' && !document.querySelector('main .empty')`, sender, ownConfirmation))
}
