package store

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"strconv"
)

// Key prefixes and fixed sort keys. Every partition key starts with T#<t>.
const (
	skTenant  = "TENANT"
	skContact = "CONTACT"
	skPhone   = "PHONE"
	skLink    = "LINK"
	skIdem    = "IDEM"
	skSup     = "SUP"
	skOut     = "OUT"

	emailShards = 32 // heat.md: the busiest of 8 took 1.3x a partition at 5,000 claims/s
	schedShards = 8

	// Shards of a tenant's hot partitions (heat.md): a contact's name-index
	// entry and its group memberships go to the shard of its id.
	contactIndexShards = 16
	groupShards        = 8
)

func tenantPK(t string) string      { return "T#" + t }
func contactPK(t, id string) string { return "T#" + t + "#C#" + id }
func phonePK(t, e164 string) string { return "T#" + t + "#P#" + e164 }
func emailPK(t, email string) string {
	return "T#" + t + "#EMAILS#" + strconv.Itoa(shard(email, emailShards))
}
func linkPK(t, conn, extID string) string   { return "T#" + t + "#S#" + conn + "#" + extID }
func historyPK(t, subject string) string    { return "T#" + t + "#H#" + subject }
func suppressionPK(t, e164 string) string   { return "T#" + t + "#SUP#" + hashHex(e164) }
func runPK(t, run string) string            { return "T#" + t + "#RUN#" + run }
func idemPK(t, scope, key string) string    { return "T#" + t + "#IDEM#" + scope + "#" + key }
func outboxPK(t, ref string) string         { return "T#" + t + "#OUT#" + ref }
func connRunsIndexPK(t, conn string) string { return "T#" + t + "#CONN#" + conn + "#RUNS" }
func connSK(conn string) string             { return "CONN#" + conn }
func runSK(run string) string               { return "RUN#" + run }
func lockSK(conn string) string             { return "LOCK#" + conn }
func groupSK(group string) string           { return "GROUP#" + group }
func keySK(hash string) string              { return "KEY#" + hash }
func schedPK(t, conn string) string         { return "SCHED#" + strconv.Itoa(shard(t+"/"+conn, schedShards)) }

// contactsIndexBase and pendingIndexBase are the tenant's name-index
// partitions before their shard: a contact's entry is in
// <base>#<shard(id, contactIndexShards)> (contactsIndexPK), a listing
// merges the shards (contactsIndexShardPKs). Cursors carry the base.
func contactsIndexBase(t string) string { return "T#" + t + "#CONTACTS" }
func pendingIndexBase(t string) string  { return "T#" + t + "#CONTACTS#PENDING" }

// contactsIndexPK and pendingIndexPK are contact id's name-index partition
// (audience, or pending a double opt-in YES).
func contactsIndexPK(t, id string) string {
	return shardKey(contactsIndexBase(t), id, contactIndexShards)
}
func pendingIndexPK(t, id string) string {
	return shardKey(pendingIndexBase(t), id, contactIndexShards)
}

// groupBasePK is a group's member partition before its shard; groupPK is
// the one holding the memberships of a bucket's contacts (the shard of
// their bundle, members.go); groupPKs are all of them.
func groupBasePK(t, group string) string { return "T#" + t + "#G#" + group }
func groupPK(t, group, bucket string) string {
	return shardKey(groupBasePK(t, group), bucket, groupShards)
}
func groupPKs(t, group string) []string { return shardKeys(groupBasePK(t, group), groupShards) }

// doiIndexPK is the pending-request index partition (GSI2, all tenants) of
// a number waiting on a connection's double opt-in request.
func doiIndexPK(t, conn, e164 string) string {
	return shardKey("DOI", t+"/"+conn+"/"+e164, pendingShards)
}

// shardKey is base#<shard(id, n)>; shardKeys, base#0 .. base#<n-1>. Every
// key of base ends in exactly one "#<k>", so two bases never share one.
func shardKey(base, id string, n int) string { return base + "#" + strconv.Itoa(shard(id, n)) }
func shardKeys(base string, n int) []string {
	out := make([]string, n)
	for k := range out {
		out[k] = base + "#" + strconv.Itoa(k)
	}
	return out
}

func shard(s string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s)) // hash.Hash never fails
	return int(h.Sum32() % uint32(n))
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
