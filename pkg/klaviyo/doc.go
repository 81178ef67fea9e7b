// Package klaviyo is the Klaviyo connector: profiles with their SMS
// consent through the JSON:API (cursor-chained pages of 100, incremental by
// updated), paced by Klaviyo's rate-limit headers, and SMS opt-out
// write-back with a bulk unsubscribe job. Its fake, klaviyotest, serves the
// same API.
//
// Facts relied on (../../../shared/platforms.md §4):
//   - https://a.klaviyo.com/api, Authorization: Klaviyo-API-Key <private
//     key>, revision: 2026-07-15, Accept: application/vnd.api+json.
//   - GET /api/profiles?page[size]=100 (max 100), next page in links.next
//     (a page[cursor]); filter=greater-than(updated,<ts>);
//     additional-fields[profile]=subscriptions is required for consent.
//     https://developers.klaviyo.com/en/reference/get_profiles
//   - get_profiles allows 75 requests/s burst and 750/min steady; non-429
//     answers carry RateLimit-Limit / -Remaining / -Reset, a 429 carries
//     Retry-After. include=lists or segments drops the limit to 1/s and
//     15/min, so lists and segments are not pulled: Klaviyo profiles carry
//     no groups here. https://developers.klaviyo.com/en/docs/rate_limits_and_error_handling
//   - SMS consent: subscriptions.sms.marketing{consent SUBSCRIBED |
//     UNSUBSCRIBED | NEVER_SUBSCRIBED, consent_timestamp, method}.
//   - Write-back: POST /api/profile-subscription-bulk-delete-jobs with the
//     phone number and sms.marketing.consent UNSUBSCRIBED (202; account-wide
//     without a list). https://developers.klaviyo.com/en/reference/bulk_unsubscribe_profiles
//   - Webhooks (UNCONFIRMED): system webhooks (POST /api/webhooks) exist
//     only for Advanced KDP accounts and app partners. Body
//     {data:[{topic, external_id, payload}], meta{...}}; headers
//     Klaviyo-Webhook-Id (our delivery id), Klaviyo-Timestamp and
//     Klaviyo-Signature = hex HMAC-SHA256(secret_key, raw body +
//     timestamp), per Hookdeck's guide
//     (https://www.skills.sh/hookdeck/webhook-skills/klaviyo-webhooks); we
//     found no official vector. VerifyWebhook/ParseWebhook implement that
//     shape; ParseWebhook maps every item whose payload is a profile
//     resource and rejects deliveries without one (ErrUnsupportedTopic).
//   - Groups: lists and segments are NOT pulled (include=lists costs the
//     1/s, 15/min tier; per-list membership pulls were not built), so
//     records have HasGroups=false.
//   - Country: location.country is free text; common English names and
//     codes map to ISO alpha-2, anything else leaves Country empty.
//
// README paragraph: "Klaviyo: webhooks only for accounts with system
// webhooks (signature scheme unconfirmed); daily pull otherwise. The daily
// pull (and sync now) is the source of truth for Klaviyo contacts."
package klaviyo
