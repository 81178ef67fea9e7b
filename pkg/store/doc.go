// Package store is contactsync's DynamoDB adapter: one table (defined in
// pkg/resources), conditional writes for every write that could race, and
// TTL-based one-year history.
//
// # Single-table design
//
// Every partition key starts with "T#<tenantId>", so no key built from one
// tenant's id can address another tenant's items. Two kinds of index
// partition are cross-tenant by nature, both read only by the scheduler: its
// due-connection index (GSI2, "SCHED#<shard>") — it must find due connections
// of every tenant in one query — which carries no personal data, and the
// outbox sweeper's index (GSI2, "OUTBOX#<shard>"), whose sort keys carry the
// tenant ("<time>#T#<t>#<ref>") and whose items are unfinished outbox markers
// (GSI2 projects ALL, so they hold the number and purpose of a due message
// until it is finished; a finished marker leaves the index; a notification's
// marker holds no number and waits there until its next attempt's time). The
// pending-request index (GSI2, "DOI#<shard>") is built the same way: its
// sort keys carry the tenant, and a number leaves it once it no longer
// waits on its double opt-in request.
//
// A contact's name-index partition follows its status: pending contacts
// (a double opt-in request without its YES) have their own, so the
// default listing — the audience — never reads them and ?status=pending
// reads only them; a status change moves the contact (the same write).
//
// The partitions one large install would heat past DynamoDB's limits
// (heat.md) are sharded by a stable hash (FNV-1a) of the contact id, the
// email or the message: the name index (16 shards of each partition), a
// group's member bundles (8, by the ids' bucket), the email claims (32), the sweeper's index (64),
// the pending-request index (16) and the SMS usage counters (16 of the
// month's and 16 of the running total, by message reference). A listing of a sharded partition
// merges one query a shard in its sort key's order (shards.go: the name
// key ends with the contact id and a member bundle's key is its bucket,
// whose ids it lists in order, so the order is total), and its cursor — the last key returned, with the
// unsharded partition — resumes every shard after it. A sweep reads its
// index's shards round by round, limit/shards items a shard a round, from
// a shard that turns each sweep. There was no deployment before the
// shards, so no item is migrated: every key was written sharded.
//
//	access pattern                         key condition                                            index
//	tenant (settings, SMS provider)        PK=T#t            SK=TENANT                                table (return URL too)
//	API key → tenant (hash of the secret)  PK=T#t            SK=KEY#<sha256>                          table (the key token carries t)
//	connection by id                       PK=T#t            SK=CONN#<c>                              table
//	connections of a tenant                PK=T#t            SK begins_with CONN#                     table
//	connections due (scheduler)            GSI2PK=SCHED#<0..7> GSI2SK <= <nextDue>#...                GSI2
//	contact by id                          PK=T#t#C#<id>     SK=CONTACT                               table
//	contact by phone (claim + consent)     PK=T#t#P#<e164>   SK=PHONE                                 table
//	contact by email (claim)               PK=T#t#EMAILS#<s> SK=<email>         (s = hash(email)%32)  table
//	contact by source record (its creator) PK=T#t#C#<creatorID(t,c,extId)> SK=CONTACT, lnk            table (the link folded in)
//	contact by source record (any other)   PK=T#t#S#<c>#<extId> SK=LINK                               table
//	contacts of a tenant, by name prefix   GSI1PK=T#t#CONTACTS#<0..15> GSI1SK begins_with <name>#<id> GSI1, 16 merged (not pending ones; k = hash(id)%16)
//	pending contacts (double opt-in)       GSI1PK=T#t#CONTACTS#PENDING#<0..15> GSI1SK begins_with <name> GSI1, 16 merged
//	contacts by email prefix               GSI1PK=T#t#CONTACTS#<0..15>, filter begins_with(EmailKey)  GSI1, 16 merged (name order)
//	contacts of a group (bundles, members.go) PK=T#t#G#<group>#<0..7> SK=K#<bucket> ids={<id>...} (bucket: the contact's, given with its page; k = hash(bucket)%8) table, 8 merged
//	group list                             PK=T#t            SK begins_with GROUP#                    table
//	consent ledger of a phone              PK=T#t#P#<e164>   SK=PHONE (state + evidence)              table
//	consent/contact history                PK=T#t#H#<e164|contactId> SK=<time>#<seq>                  table (TTL)
//	suppression (redacted numbers)         PK=T#t#SUP#<sha256(e164)> SK=SUP                           table
//	sync runs of a tenant, newest first    PK=T#t            SK begins_with RUN#  (ids sort by time)  table, descending
//	sync runs of a connection, newest first GSI1PK=T#t#CONN#<c>#RUNS GSI1SK=<runId>                   GSI1, descending
//	run lock (one run per connection)      PK=T#t            SK=LOCK#<c>                              table
//	page markers and report rows           PK=T#t#RUN#<r>    SK=PAGE#<p> / ROWS#<p>[#<nn>]            table (TTL)
//	idempotency keys                       PK=T#t#IDEM#<scope>#<key> SK=IDEM                          table (TTL)
//	outbox markers                         PK=T#t#OUT#<ref>  SK=OUT                                   table (TTL)
//	unfinished outbox markers (sweeper)    GSI2PK=OUTBOX#<0..63> GSI2SK <= <ms>#T#t#<ref>             GSI2 (sparse)
//	credit cap's committed credits (month) PK=T#t            SK=USAGE#<yyyy-mm>  (+ counters before the shards) table
//	SMS held by the monthly credit cap     PK=T#t#HELD       SK=<ref>                                 table (TTL)
//	OAuth install attempt (single use)     PK=T#t#OAUTH#<nonce> SK=OAUTH                             table (TTL)
//	unanswered double opt-in request       PK=T#t#DOI#<c>#<e164> SK=DOI                                table
//	requests due a look (expiry, reminder) GSI2PK=DOI#<0..15> GSI2SK <= <ms>#T#t#<c>#<e164>           GSI2 (sparse)
//	notification endpoint (URL, sealed secret) PK=T#t        SK=NOTIFY                                table
//	notifications to the hub, newest first PK=T#t#NTF        SK=msg_<ms><hex> (ids sort by time)      table (TTL), descending
//	a dry run's scratch (its would-be writes) PK=T#t#RUN#<r>#D#<key after T#t#> SK=<the key's SK>      table (TTL 7 days, no index attributes)
//	platform webhook subscriptions of a connection PK=T#t SK=HOOKS#<c> (ids by topic, last check)    table
//	webhook checks due (daily, pkg/hooks)  GSI2PK=HOOKS#<0..7> GSI2SK <= <nextCheck>#<t>#<c>         GSI2 (sparse)
//	SMS usage of a month, one shard        PK=T#t#USAGE#<0..15> SK=<yyyy-mm>   (k = hash(ref)%16)     table, 16 summed (BatchGetItem)
//	SMS credits ever sent, one shard       PK=T#t#CREDITS#<0..15> SK=TOTAL     (k = hash(ref)%16)     table, 16 summed (CreditsUsed)
//	a usage shard's block of the cap (month) PK=T#t#BLOCK#<0..15> SK=<yyyy-mm> (block, blockCap, reserved) table, 16 read to take a block (blocks.go)
//
// A dry run (Target.DryRun, dryrun.go) decides as a real run does but
// writes its contacts, phone items, email claims and links to its scratch
// partitions instead, and reads them back over the stored state; it writes
// nothing else.
//
//	a full run's group assertions          PK=T#t#RUN#<r>#S#<extId> SK=G#<group>                      table (TTL 14 d; leavers.go)
//	groups whose listing ended early       PK=T#t#RUN#<r>    SK=INCOMPLETE#<group>                    table (TTL 14 d)
//	out-of-scope ids awaiting the run end  PK=T#t#RUN#<r>    SK=DEFER#<p>#<nnn> (≤500 ids an item)    table (TTL 14 d)
//	left_group report rows                 PK=T#t#RUN#<r>    SK begins_with ROWS#~left# (one a row)    table (TTL; counted: groups_left)
//	members of a complete group (run end)  PK=T#t#G#<group>#<0..7> SK=K#<bucket>, 25 bundles a query  table, shard after shard
//	a plan's pages past its window, by 10  PK=T#t#RUN#<r>    SK=FAN#<nnnnnn> (a bundle's first place) table (TTL; fanout.go, pkg/bulksync window.go)
//
// # Wings
//
// The record-apply engine (load → merge → conditional write → re-read on
// conflict): apply.go takes a page in (field map, bounds, the records
// applied in parallel groups that share no key, then the page's batched
// side writes); apply_load.go reads and keeps the state a page needs
// (snapshots, consistent re-reads, absorbed writes); apply_record.go
// applies one record and, when its conditions failed, reads again and
// merges again; apply_write.go turns a decision into one conditioned
// transaction and its idempotent side writes, or, for a lone new contact,
// apply_claims.go into ordered conditional puts; leavers.go ends a full run;
// apply_delivery.go folds a webhook delivery's idempotency key into its
// apply (Target.Delivery: read with the first reads, written completed
// with the last writes).
// Generic DynamoDB plumbing is ddb.go (encoding, get, queries and paging,
// puts, single writes, transactions, batches, error reading) and conds.go
// (the named condition and key expressions). Retries are the SDK's: the
// client's retryer (awsenv: DynamoDBMaxAttempts, jittered) retries
// throttling, server and connection errors, and each write extends it to
// transaction conflicts (conflictRetry), which the SDK does not retry and
// which the same request sent again resolves. Two loops remain, doing what
// a retryer cannot: a batch sends its unprocessed items again (they come
// in a successful response), and an optimistic writer whose conditions
// failed reads and decides again (rereadPause: applyOne, DeleteContact,
// UpdateLedger). The other files are the store's entities, one each.
//
// # Costs the design is built for
//
// An unchanged contact in a re-sync page costs one eventually consistent read
// of its source link (0.5 RCU) and no write: the link stores the content hash
// of the last applied record. A new contact with phone, email and two groups
// costs 4.09 WCU in a page of 100 (TestApply_NewContactCostsAtMost4WCUAndABundleShare,
// BenchmarkUnitsPerContact): its phone item (1, with the contact it claims
// for, deflated, and the ledger: under 1 KB for a typical contact), its
// email claim (1), the contact and its name-index entry (2), and its share
// of the page's member bundles (members.go: a group's new members of a page
// share bundles of 32, one write each, 0.04 a group). A transaction of the
// three claims would cost 10 (each item twice); one membership item per
// group cost 7; a link item of its own 5.07.
//
// # The creator's link, folded into its contact
//
// A contact's id is derived from the source record that creates it
// (creatorID: 96 bits of SHA-256 of tenant, connection and external id),
// so that record finds it from what it carries, and the record's link
// lives in the contact item (contactItem.Link, "lnk") instead of a link
// item: one item written and read where there were two. The rules:
//   - a record's link is the lnk of the contact at its creatorID when that
//     contact has one and the record is among its sources (createdBy), else
//     its link item. loadLinks reads the contacts first, then the link items
//     of the records without a folded link (a second request, for new
//     records and for those matched onto a contact another record created);
//     a webhook's first read and a re-read take both in one request;
//   - a link is folded when the record's decision writes the contact it
//     created and the record has no link item (a held item, or one from
//     before, stays the record's link); a contact put by another record's
//     decision keeps the lnk it had while its creator is still a source
//     (keepsFold); a record that leaves the contact it created takes its
//     link to an item, and the contact's next put drops the lnk;
//   - a decision that does not put the contact (a consent change alone) and
//     a link refresh (keepLink) update the lnk alone (foldUpdate), leaving
//     the contact's version, so webhooks racing on the contact do not fail
//     for it; a writer that read the contact before puts back the lnk it
//     read, and the record's next sync applies it again (a link item's
//     last writer won the same way). StaleLink's mark moves the version:
//     a write-back to try again must not be lost;
//   - a record whose creatorID a contact already holds (the one it created
//     and left) creates with a random id, and its link is an item;
//   - the link item was the marker that a decision's side writes were done
//     (it is written after them); a folded link is written with the contact,
//     before them. So a record whose folded link shows its content applied
//     but whose contact carries this run's or delivery's mark (marksFor)
//     redoes its memberships (redoFolded: idempotent ADDs, aggregated per
//     bundle with the page's): a page or delivery applied again after a
//     crash loses none, at one write per bundle and group;
//   - two decisions for one record (its webhook and its page) claim for the
//     same id: a claim is counted as written by a decision only if it
//     carries that decision's own pending contact (claimedFor), so the other
//     reads again and merges onto the contact;
//   - a webhook's first link (a transaction, as before) checks the link
//     item is still as read — a conditional delete where it put the item,
//     the same unit (putFirstLink) — so tags a racing partial record held
//     meanwhile are applied to the contact. A sync page's creations do not
//     (as before, when pages put their links unconditioned);
//   - a deleted contact takes its creator's link with it: the record's next
//     sync finds neither and creates the contact again, at the same id;
//     a listing shows an id only from its contact's own bucket's bundle, so
//     an id left in another bucket's bundle by the deleted one is not shown.
//
// The claims of a decision that only creates a contact (apply_claims.go)
// are three conditional puts in a fixed order: phone item (absent or at
// the version read), email claim (absent), contact (absent), each claim
// carrying the contact item (attribute "pending"). Any other decision (a
// due text, a release, a merge of two contacts, held deltas, a dry run) is
// one transaction as before. Why every case converges:
//   - a lost race on the phone: nothing of the loser is written; it reads
//     again and merges onto the winner's id (a claim that holds its own id,
//     put by a reader, counts as written);
//   - a lost race on the email after the phone put, or a crash between
//     the puts: the phone claim points at a missing contact but carries
//     it. Whoever reads that claim next (the writer's own re-read, the page
//     delivered again, another source's record) completes it
//     (completeCreate, consistent reads): puts the email claim if absent,
//     leaves off the contact an identifier another contact holds, takes the
//     status from the phone's ledger, puts the contact if absent. No writer
//     overwrites a claim whose contact is missing while it carries it, so a
//     slow creator and a completer write the same contact (its id is the
//     creator's alone: the creator's own failed "absent" put of it counts as
//     written);
//   - a crash after the contact put: as before, the contact's run mark for
//     the record makes the page delivered again count it and redo its side
//     writes. A contact keeps one mark per source record (marksFor), so
//     another source or a webhook writing the contact before the page
//     comes back does not erase it. A webhook delivery marks the contact
//     it writes too (by its idempotency key, Target.markedBy): delivered
//     again after a crash before its side writes, it redoes them. A source
//     record keeps one mark of each kind (run, delivery), so a webhook for
//     the record itself does not erase a crashed run's;
//   - a claim's payload goes with its next write (any phone or email write
//     but a ledger update of the same owner; DeleteContact removes it), so
//     a deleted contact is never brought back from it.
//
// Report rows
// (created, updated, invalid and the like; unchanged records are only
// counted) are written per page in one batch, source.ReportRowsPerItem rows
// to an item (a typical row is 100-150 bytes: about 0.15 WCU a listed
// record); history items only for changes and failures.
// A webhook delivery of one customer costs at most 4 requests
// (pkg/webhook/doc.go): its idempotency key rides the record's first
// BatchGetItem (0.5 RCU) and its last BatchWriteItem (1 WCU), and its
// membership changes (up to 10) its decision's transaction (2 WCU each,
// membersInTransaction); a redelivery is that read alone.
// A due message's marker costs its put (inside the decision's transaction)
// plus the sweeper index's copy; its lease and finish update both (the index
// entry moves to the lease's end, then leaves): about 3 index WCU per SMS.
// A sent SMS adds its credits (the parts its text is billed as) to the
// running total and the month's usage item — totals, and one counter per
// connection and per purpose — of its reference's usage shard, in the
// transaction that marks it sent (2 WCU on each of two shard keys, none
// on T#t); GET /v1/usage is one BatchGetItem of the month's 16 shards and
// its central item. Under a monthly credit cap a text reserves its credits
// from its usage shard's block (blocks.go): credits the shard took from
// the month's central committed credits (T#t) with one conditional write
// for 65 texts like it (at most cap/32), so T#t is written once a block,
// not once a text (TestBlocks_CappedTextsWriteTheTenantKeyOncePerBlock);
// the block is on a key of its own (T#t#BLOCK#<k>), so the reservation
// writes it (2 WCU) and the send the month's counters and the total
// (2 WCU each): each shard key once a text, and the block once more a
// block (its failed try);
// near the cap a shard takes what is left and then other shards' unused
// blocks, and a text is held only when the central item and the 16
// blocks read at one moment (TransactGetItems, 34 RCU; no write but its
// failed try, where 17 condition checks cost 34 WCU) leave no credit
// anywhere: the cap stays exact. That hold stamps the 16 blocks "spent"
// with the credits then free, and while the stamps stand a held text
// reads only its own block (a give-back clears them all). A sent text
// turns its reservation into credits on the shard's counters (the
// block's key is not written again); a failed one gives it back to the
// block. Setting a cap folds the credits sent without one
// into committed, and gives the blocks back, shard by shard; the fold is
// exact, sends in flight included: each fold is conditioned on the
// shard's uncapped credits and block it read and flags the shard, and a
// send checked without a cap that finds its shard flagged counts itself
// in committed (usage_shards.go; TestUsageShards_*). The cap can be
// passed only as before the shards: by opt-out confirmations and help
// replies, a send whose parts exceed its reservation, and texts whose
// sender read the tenant before the cap was stored (counted, never held;
// a block such a sender takes under the old cap serves only texts checked
// against that cap).
// A full run whose plan names complete groups (a Klaviyo listing) also
// writes one small assertion item per listed membership (1 WCU each, by
// batch; they are not contact, link or membership writes, which a re-sync
// still avoids), and at its end reads each complete group's members
// (about 0.5 RCU per 40 members), their contacts (1 RCU each, consistent)
// and the assertions of this connection's links to the group (1 RCU
// each); only leavers are written. See leavers.go.
//
// # Partition heat
//
// heat.md models what each access pattern puts on its busiest partition
// key (DynamoDB's 1,000 WCU/s and 3,000 RCU/s a partition) for a
// 1,000,000-customer install at 5,000 contacts/s and for 10,000 tenants'
// daily runs and webhooks, with the numbers per contact, page, delivery
// and text measured and asserted by TestHeat_Replay (a meter per
// partition key on the store's client). Unsharded, the name index
// (every new contact of the tenant: 5x; a rename moves the entry, two
// writes), a group's members (5x) and the busiest of 8 email shards
// (1.3x, a transactional claim; a new contact's claim is now a plain
// put, 1 WCU) were over the limit at that rate; sharded as above, each is
// under it (the test asserts the busiest shard's share). A tenant's sent
// texts write T#t only under a monthly credit cap (one transactional
// write a block of 65 texts); a capped text's reservation and its send
// write different shard keys (its block, its month's counters), each
// under 0.72x a partition at 5,000 capped texts a second. A change that adds a write to a hot
// key fails that test until heat.md says so.
//
// # Write-back of opt-outs
//
// With Target.WriteBack (the connection's writeBackOptOuts) each applied
// record says whether its number's opt-out is due at its source
// (Applied.WriteBack, consent.Ledger.WriteBackDue on the ledger the apply
// path read for the record's phone: no extra read). A record that ends at
// its link (unchanged) is not looked at, so what could make one due marks
// its link instead (StaleLink: its applied hash is replaced, and the next
// apply reads it whole): a write-back's outcome, written or refused, and a
// decision that unsubscribes a number through a source (the contact's
// other source records, of connections that write back: the setting
// itself is part of the applied hash, so turning it on re-applies them).
// NoteWriteBackUnsupported counts a run's unsupported write-backs once,
// with a flag on the run item. Write-backs use the outbox markers above
// (kind writeback), one per record and run for syncs.
//
// # Retention
//
// Runs, report rows, page markers, idempotency keys, notifications and
// history carry expiresAt (epoch seconds, event time + 365 days for
// history); every read filters expired items itself because DynamoDB
// deletes them lazily.
package store
