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

	emailShards = 8
	schedShards = 8
)

func tenantPK(t string) string      { return "T#" + t }
func contactPK(t, id string) string { return "T#" + t + "#C#" + id }
func phonePK(t, e164 string) string { return "T#" + t + "#P#" + e164 }
func emailPK(t, email string) string {
	return "T#" + t + "#EMAILS#" + strconv.Itoa(shard(email, emailShards))
}
func linkPK(t, conn, extID string) string   { return "T#" + t + "#S#" + conn + "#" + extID }
func groupPK(t, group string) string        { return "T#" + t + "#G#" + group }
func historyPK(t, subject string) string    { return "T#" + t + "#H#" + subject }
func suppressionPK(t, e164 string) string   { return "T#" + t + "#SUP#" + hashHex(e164) }
func runPK(t, run string) string            { return "T#" + t + "#RUN#" + run }
func idemPK(t, scope, key string) string    { return "T#" + t + "#IDEM#" + scope + "#" + key }
func outboxPK(t, ref string) string         { return "T#" + t + "#OUT#" + ref }
func contactsIndexPK(t string) string       { return "T#" + t + "#CONTACTS" }
func pendingIndexPK(t string) string        { return "T#" + t + "#CONTACTS#PENDING" }
func connRunsIndexPK(t, conn string) string { return "T#" + t + "#CONN#" + conn + "#RUNS" }
func connSK(conn string) string             { return "CONN#" + conn }
func runSK(run string) string               { return "RUN#" + run }
func lockSK(conn string) string             { return "LOCK#" + conn }
func groupSK(group string) string           { return "GROUP#" + group }
func keySK(hash string) string              { return "KEY#" + hash }
func schedPK(t, conn string) string         { return "SCHED#" + strconv.Itoa(shard(t+"/"+conn, schedShards)) }

func shard(s string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s)) // hash.Hash never fails
	return int(h.Sum32() % uint32(n))
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
