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
// profiles listing (see "Scope" for a connection with selected groups),
// and one listing of members per selected list or segment (GET
// /api/lists/{id}/profiles or /api/segments/{id}/profiles,
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
// # Leavers: full runs list their groups completely
//
// A member listing says who is in a group, not who left, and membership
// records are deltas (AddGroups). So a full plan names every list and
// segment it lists in source.Plan.CompleteGroups (their names, once each;
// incremental plans name none, they list joins only). The pipeline
// (pkg/bulksync groups.go, pkg/store leavers.go) notes which profiles each
// run's member pages put in each group, and when a full run completes it
// removes "<Label> - <name>" from this connection's profiles that no member
// page of the run listed: a profile that left a list or a segment (one
// whose membership changed by itself: "Engaged 30 days") loses the group
// at the next full sync and keeps it through incremental ones. The run
// counts them (groups_left) and reports each (updated, left_group, with
// the group); the removal keeps the link's delta base, so the next sync of
// that profile's other memberships writes nothing.
//
// What "complete" means here: the group's member chain ran from its first
// page to a page whose links.next was absent. A run with a failed page
// removes nothing (it fails). A list or segment deleted after planning
// answers 404 mid-run: FetchPage then ends the chain with an empty page
// whose source.Page.Incomplete names the group, and nobody is removed from
// it (its members keep the group; the deleted list is in no later plan, so
// they keep it until their profile leaves the connection). A renamed list
// is a new group at the next full run, and the old name is then removed
// from its members only if a list of the old name is still listed (it
// usually is not: the old group stays, as a deleted list's does).
//
// # Scope: selected lists and segments
//
// With SelectedTags set, the connection is scoped to the members of the
// selected lists and segments (issue 18, "the same scoping option for
// Klaviyo"): only they are synced and only they become groups. Klaviyo
// cannot filter profiles by membership (include=lists costs 1 request/s),
// and a profiles page cannot tell which of its profiles are members, so a
// scoped full plan is the member chains — whose records are then the
// profiles' records: they keep the profile's updated time
// (ScopedMembershipRecord, so a name changed at Klaviyo reaches the
// contact, newer wins per field) — plus the profiles listing read ids-only
// (fields[profile]=id), each profile an out-of-scope record
// (source.Record.OutOfScope). Because the plan names the selected groups
// as complete, the pipeline sets those records aside until the run's end
// and keeps, as out of scope, only the profiles no member page of the run
// listed: counted out_of_scope, and a profile that had the Klaviyo source
// (it left every selected group, or the selection changed) loses it. A
// member of several selected groups is one contact. A scoped incremental
// run reads the selected groups' members whole (no joined_group_at
// filter, no profiles listing): it is how a member's profile changes
// arrive, and it removes nothing. A selection that names no existing list
// or segment leaves every profile out of scope, as Mailchimp does with
// tags. Cost of a scoped full run: Σ members/100 + profiles/100 requests
// (the ids-only pages are small), instead of the profiles listing plus
// the members.
//
// Costs: a full run makes profiles/100 + Σ members/100 + ⌈lists/10⌉ +
// ⌈segments/10⌉ requests; run counts (Seen, and the report's rows) include
// the membership records. An unchanged re-sync writes nothing for them:
// a membership record is a group delta, and the source link keeps the full
// profile record's hash next to the delta's base (pkg/merge Link.DeltaBase),
// so the profile and each of its memberships are recognised as applied
// (pkg/store TestApply_GroupDeltasAndTheirFullRecord_ResyncWritesNothing);
// the membership records still cost their reads, and a full run writes one
// small assertion item per membership (pkg/store leavers.go), not a contact,
// link or membership write. The private key now needs lists:read and
// segments:read besides
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
//   - Sparse fieldsets: GET /api/profiles takes fields[profile]=<names>;
//     "id" is one of the names its reference lists (get_profiles, revision
//     2026-10-15), so a scoped run's profiles pages ask for it alone.
//     https://developers.klaviyo.com/en/docs/sparse_fieldsets
//   - One limiter (750/min, burst 75) paces every endpoint of a client.
//     Klaviyo states its limits per endpoint, so one shared budget is
//     conservative (it is the Wait of every request pkg/httpx runs); 429s
//     (another process on the same account), 5xx and dropped connections
//     are retried by httpx after Retry-After, and an exhausted window
//     waits for RateLimit-Reset (both capped at 60 s). A failure is an
//     *httpx.Error holding errors[0].code and detail (the detail for logs
//     only).
//   - SMS consent: subscriptions.sms.marketing{consent SUBSCRIBED |
//     UNSUBSCRIBED | NEVER_SUBSCRIBED, consent_timestamp, method}.
//   - Write-back: POST /api/profile-subscription-bulk-delete-jobs with the
//     phone number and sms.marketing.consent UNSUBSCRIBED (202; account-wide
//     without a list). https://developers.klaviyo.com/en/reference/bulk_unsubscribe_profiles
//   - Webhooks: system webhooks (POST /api/webhooks) exist only for
//     Advanced KDP accounts and app partners. Klaviyo's guide "Working
//     with system webhooks" (https://developers.klaviyo.com/en/docs/system-webhooks)
//     gives the body {data:[{topic, external_id ("ID of the event"),
//     payload ("the same structure as a Get Event API call")}],
//     meta{klaviyo_account_id, klaviyo_webhook_id, timestamp}} and the
//     headers Klaviyo-Webhook-Id ("Unique ID for the webhook"; it must
//     match meta.klaviyo_webhook_id, else the delivery is not to be
//     processed), Klaviyo-Timestamp and Klaviyo-Signature. Get Event
//     (KL-spec get_event.json) answers {data: {type "event", id,
//     attributes{datetime (ISO 8601; the guide's example writes it with a
//     space), timestamp (Unix seconds), event_properties, uuid},
//     relationships{profile{data{type "profile", id}}, metric}},
//     included: [...]}.
//   - Parsing (webhook.go): Klaviyo-Webhook-Id is required (a
//     meta.klaviyo_webhook_id that differs is not refused yet: pkg/webhook's
//     replay test posts such deliveries). An event of an
//     SMS consent topic (event:klaviyo.subscribed_to_sms_marketing,
//     ...unsubscribed_from_sms_marketing) becomes a partial record
//     (source.Record.Partial, design.md §3): ExternalID the event's
//     profile id, the topic's signal (subscribed / unsubscribed) at the
//     event's datetime (else its timestamp), Method the topic, and, when
//     the payload includes that profile, its phone (nothing else of it:
//     the record updates the contact the profile is linked to and never
//     re-matches it). A payload that is a profile resource (itself or
//     {data: <profile>}) is still mapped whole (Profile.Record). Other
//     topics are skipped, and a delivery with nothing mapped is
//     ErrUnsupportedTopic (a consent event without a profile id:
//     ErrMalformed). The delivery id (dedup) is a SHA-256 of the webhook
//     id and the sorted, distinct event external_ids, or of the raw body
//     when an event has none: Klaviyo-Webhook-Id alone is the same on
//     every delivery of a webhook, and would drop every new event after
//     the first as a duplicate; so hashed, a retry of the same events
//     dedupes and new events never do, whichever the header names.
//   - UNCONFIRMED, so far from Hookdeck's guide
//     (https://www.skills.sh/hookdeck/webhook-skills/klaviyo-webhooks) and
//     no official vector: Klaviyo-Signature = hex HMAC-SHA256(secret_key,
//     raw body + Klaviyo-Timestamp), and Klaviyo-Timestamp as Unix
//     seconds (milliseconds and RFC 3339 are accepted too). VerifyWebhook
//     implements it and requires the timestamp within ReplayWindow (5
//     minutes, either way) of the time the delivery is received
//     (VerifyWebhook's now), so a captured delivery cannot be replayed
//     later. Also unconfirmed: whether a delivery's payload includes the
//     profile (Get Event does with include=profile; klaviyotest serves
//     both shapes, SetEventsIncludeProfile) and what an SMS consent
//     event's event_properties hold (not read). Without the included
//     profile a consent record carries no phone: pkg/merge then applies
//     the partial record's signal to the number of the contact the
//     profile is linked to (an unlinked profile changes nothing until its
//     full record arrives with the next pull).
//   - Registering webhooks (subscriptions.go, source.Subscriber and
//     source.TopicOfferer for pkg/hooks): GET /api/webhooks
//     (include=webhook-topics), GET /api/webhook-topics, POST /api/webhooks
//     ({data:{type:"webhook", attributes:{name, description, endpoint_url
//     (https), secret_key}, relationships:{"webhook-topics":{data:[...]}}}},
//     201), PATCH /api/webhooks/{id} (enabled:true re-enables), DELETE
//     (204; 404 is already gone). We create one webhook named contactsync
//     per topic of WebhookTopics (the SMS consent topics whose events
//     ParseWebhook maps) that the account offers, with the
//     connection's webhook secret as secret_key and the whole URL also in
//     the description (create_webhook's reference says endpoint_url may be
//     answered truncated). Only Advanced KDP accounts and app partners may
//     use the API: Klaviyo answers others 403 permission_denied even with
//     the webhooks scopes (PostHog's connector notes, posthog.com PR 19261),
//     so on these endpoints a 403 is source.WebhooksUnavailableError (the
//     connection's webhooks `unavailable`) instead of ErrUnauthorized; we
//     cannot tell it from a key lacking webhooks:write, and the reason says
//     both. Limits: burst 1/s, steady 15/m per endpoint (create_webhook,
//     get_webhook_topics); the client paces these calls with two limiters
//     of its own (a fresh client per registration, so 15 calls before the
//     steady rate) on top of the general one, and waits out 429s.
//   - Country: location.country is free text; common English names and
//     codes map to ISO alpha-2, anything else leaves Country empty.
//
// README paragraph: "Klaviyo: webhooks registered where the account has
// the Webhooks API (signature scheme unconfirmed), `unavailable` and the
// daily pull otherwise. The daily
// pull (and sync now) is the source of truth for Klaviyo contacts. Lists
// and segments become groups ("Klaviyo - <name>"); selected lists or
// segments scope the connection to their members (the others out_of_scope),
// none = the whole account. Joins are pulled daily; a full sync removes the
// group of a profile that left."
//
// Setup calls (check.go, options.go): the credential check is one
// GET /api/profiles?page[size]=1 without retry (401/403 are rejections with
// Klaviyo's code and detail); the install options are the lists and
// segments directories (names, 10 a page, up to source.MaxOptions each).
// Klaviyo's listings give no member counts (only the single-list read with
// additional-fields, at a much lower rate limit), so none are shown.
//
// # Field mapping (fields.go)
//
// Fields lists the standard profile attributes, keyed with Klaviyo's "$"
// prefix ($first_name, $phone_number, $city...), and the custom properties
// seen on the first FieldSamplePages pages of profiles (the API lists no
// property schema; a key no sampled profile has is not offered), typed
// from the sampled values. Records carry the mapped values by key.
package klaviyo
