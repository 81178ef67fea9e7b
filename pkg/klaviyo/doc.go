// Package klaviyo is the Klaviyo connector: profiles with their SMS
// consent through the JSON:API (cursor-chained pages of 100, incremental by
// updated), list and segment memberships as contact groups (one chained
// member listing per list or segment), paced by Klaviyo's rate-limit
// headers, and SMS opt-out write-back with a bulk unsubscribe job. Its
// fake, klaviyotest, serves the same API.
//
// # Groups: lists and segments
//
// Plan (PlanBulk and PlanIncremental alike) lists the account's lists and
// segments (GET /api/lists and /api/segments, names only, 10 per page) and
// keeps those whose name is in source.Options.SelectedTags, or all of them
// when SelectedTags is empty (names match exactly; a name that matches
// nothing is ignored; a list or segment without a name is named by its
// id). The plan is then several chains in Fanout, all Chained: the
// profiles listing as before, and one listing of members per selected list
// or segment (GET /api/lists/{id}/profiles or /api/segments/{id}/profiles,
// page[size]=100, additional-fields[profile]=subscriptions). bulksync
// counts every Fanout cursor as a page and each page's Next once
// (store.SetPlan, store.ChainPage), so the run ends when every chain has.
// A member cursor carries the group's id and the name resolved at plan
// time, so a retried page maps exactly as its first try did (a list
// renamed mid-run keeps its old name until the next run).
//
// A member page yields membership records: the member profile as
// Profile.Record maps it (identifiers, names, explicit SMS consent), with
// AddGroups = [name], HasGroups false, UpdatedAt zero and Partial (once
// the profile is linked, a member page only updates that contact; it never
// re-matches the profile). Why not a bare record (ExternalID plus
// AddGroups): the chains run concurrently, and a record without an
// identifier whose profile page has not been applied yet is only held by
// pkg/merge (skipped), its link written in a batch that a concurrent
// profile page can overwrite, so memberships of an install could be lost; with SignalNone instead of the profile's consent,
// a membership arriving first would make a new contact "never asked" (a
// confirmation text in confirmation mode) before the profile's explicit
// state arrived. Carrying the profile makes the order irrelevant: the same
// contacts, groups, names and consent whichever page lands first
// (TestMembershipRecordsMergeTheSameInAnyOrder). HasGroups false leaves the
// contact's other Klaviyo groups alone; the zero UpdatedAt means the record
// only fills empty fields and is never set aside as older than the stored
// link (which would drop its group when the profile changed between the two
// listings). A list and a segment with the same name give one group.
//
// Incremental runs list the profiles with greater-than(updated,since) and,
// per selected group, the members with greater-than(joined_group_at,since)
// (joined_group_at is the most recent join, so a member who left and
// rejoined is listed again). A list newly added to SelectedTags gets its
// earlier members at the next full sync (at least weekly, pkg/scheduler).
//
// Removals are NOT pulled. A member listing says who is in a group, not
// who left, and membership records are deltas (AddGroups): a profile that
// left a list or segment keeps "<Label> - <name>" in the hub, through
// incremental and full syncs alike, for as long as its contact keeps that
// profile's source link. A renamed list adds the new name and keeps the
// old one; a deleted list's group stays too (its member listing answers
// 404 mid-run: the chain ends with an empty page). This matters most
// for segments, whose membership changes by itself ("Engaged 30 days"
// grows stale). Doing better needs either the store to treat a full run's
// member listing as a group's complete membership (remove the group from
// the connection's contacts the run did not list; outside this package),
// or profile records with HasGroups and the complete set, which needs each
// profile page checked against every selected group (GET
// .../{id}/profiles?filter=any(email,[...]) per group and page: groups ×
// profiles/100 requests instead of members/100).
//
// Costs: a full run makes profiles/100 + Σ members/100 + ⌈lists/10⌉ +
// ⌈segments/10⌉ requests; run counts (Seen, and the report's rows) include
// the membership records. An unchanged re-sync writes nothing for them:
// a membership record is a group delta, and the source link keeps the full
// profile record's hash next to the delta's base (pkg/merge Link.DeltaBase),
// so the profile and each of its memberships are recognised as applied
// (pkg/store TestApply_GroupDeltasAndTheirFullRecord_ResyncWritesNothing);
// the membership records still cost their reads. The private key now needs
// lists:read and segments:read besides
// profiles:read: without them planning fails with ErrUnauthorized (a
// permanent error, the run fails rather than silently pulling no groups).
//
// Facts relied on (../../../shared/platforms.md §4):
//   - https://a.klaviyo.com/api, Authorization: Klaviyo-API-Key <private
//     key>, revision: 2026-07-15, Accept: application/vnd.api+json. An
//     OAuth install (pkg/oauth) sends Authorization: Bearer <access token>
//     instead (Config.Token, refreshed by pkg/connectors before it expires).
//   - GET /api/profiles?page[size]=100 (max 100), next page in links.next
//     (a page[cursor]); filter=greater-than(updated,<ts>);
//     additional-fields[profile]=subscriptions is required for consent.
//     https://developers.klaviyo.com/en/reference/get_profiles
//   - get_profiles allows 75 requests/s burst and 750/min steady; non-429
//     answers carry RateLimit-Limit / -Remaining / -Reset, a 429 carries
//     Retry-After. include=lists or segments drops the limit to 1/s and
//     15/min, so groups come from the member listings below, never from
//     include or the per-profile relationship endpoints.
//     https://developers.klaviyo.com/en/docs/rate_limits_and_error_handling
//   - Members (platforms.md §4 and KL-spec get_profiles_for_list.json):
//     GET /api/lists/{id}/profiles, page[size] max 100, 75/s and 750/min,
//     filter joined_group_at. Checked in the KL-spec (klaviyo/openapi,
//     openapi/stable/apis/get_profiles_for_list.json, revision 2026-07-15;
//     get_profiles_for_segment.json, 2026-04-15) and not in platforms.md:
//     /api/segments/{id}/profiles takes the same parameters and limits;
//     both accept additional-fields[profile]=subscriptions and
//     filter=greater-than(joined_group_at,<ts>); each member is a profile
//     resource plus attributes.joined_group_at ("most recently joined");
//     scopes lists:read or segments:read, and profiles:read.
//     https://developers.klaviyo.com/en/reference/get_profiles_for_list
//   - Lists and segments (KL-spec get_lists.json, get_segments; not in
//     platforms.md): GET /api/lists and GET /api/segments return at most 10
//     per page (cursor in links.next), fields[list]=name /
//     fields[segment]=name, 75/s and 750/min, scopes lists:read /
//     segments:read; a name may be null.
//     https://developers.klaviyo.com/en/reference/get_lists ,
//     https://developers.klaviyo.com/en/reference/get_segments
//   - One limiter (750/min, burst 75) paces every endpoint of a client.
//     Klaviyo states its limits per endpoint, so one shared budget is
//     conservative; 429s (another process on the same account) are retried
//     after Retry-After, and an exhausted window waits for RateLimit-Reset
//     (both capped at 60 s).
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
//     shape; Klaviyo-Timestamp (Unix seconds, milliseconds or RFC 3339) must
//     be within ReplayWindow (5 minutes, either way) of the time the
//     delivery is received (VerifyWebhook's now), so a captured delivery
//     cannot be replayed later; ParseWebhook maps every item whose payload is a profile
//     resource and rejects deliveries without one (ErrUnsupportedTopic).
//   - Country: location.country is free text; common English names and
//     codes map to ISO alpha-2, anything else leaves Country empty.
//
// README paragraph: "Klaviyo: webhooks only for accounts with system
// webhooks (signature scheme unconfirmed); daily pull otherwise. The daily
// pull (and sync now) is the source of truth for Klaviyo contacts. Lists
// and segments become groups ("Klaviyo - <name>"; selected tags choose
// them by name, none = all); joins are pulled, leaves are not."
package klaviyo
