package shopify_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/contactsync/contactsync/pkg/platform"
	"github.com/contactsync/contactsync/pkg/shopify"
	"github.com/contactsync/contactsync/pkg/source"
)

// An app/uninstalled delivery is recognised under either header spelling
// Shopify sends (X-Shopify-Topic and, newer, Shopify-Topic), as the
// parser accepts both; another shop's uninstall is refused.
func TestUninstalled_EitherTopicHeader(t *testing.T) {
	body := []byte(strings.Replace(uninstalledBody, "jsmith.myshopify.com", "mine.myshopify.com", 1))
	hooks, is := shopify.Spec().Webhooks(func(map[string]string, source.Options) (platform.Client, error) { return nil, nil }).(platform.Uninstaller)
	if !is {
		t.Fatal("the Shopify webhook is not a platform.Uninstaller")
	}
	for _, name := range []string{"X-Shopify-Topic", "Shopify-Topic"} {
		h := http.Header{}
		h.Set(name, "app/uninstalled")
		d := source.Delivery{Header: h, Body: body}
		ok, err := hooks.Uninstalled(map[string]string{"shopDomain": "mine.myshopify.com"}, d)
		if err != nil || !ok {
			t.Errorf("%s: uninstalled = %v, %v; want true", name, ok, err)
		}
		if ok, err := hooks.Uninstalled(map[string]string{"shopDomain": "other.myshopify.com"}, d); ok || err == nil {
			t.Errorf("%s: another shop's uninstall = %v, %v; want refused", name, ok, err)
		}
	}
}
