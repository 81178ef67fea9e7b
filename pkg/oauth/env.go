package oauth

// App returns the app of platform ("shopify", "mailchimp", "klaviyo"; the
// names of resources.Function.OAuthApps), nil for another.
func (a *Apps) App(platform string) *App {
	switch platform {
	case "shopify":
		return &a.Shopify
	case "mailchimp":
		return &a.Mailchimp
	case "klaviyo":
		return &a.Klaviyo
	}
	return nil
}
