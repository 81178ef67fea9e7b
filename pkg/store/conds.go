package store

// Condition, filter and key-condition expressions that more than one
// write or query uses, named. They are strings, not the SDK's expression
// builder: the apply path conditions several items a record, and one
// "version = :v" built costs 27 allocations and 1.6 KB against one
// allocation of 24 B (BenchmarkConditionBuilder, BenchmarkConditionString).
// An expression one write alone uses stays beside it; expressions made of
// run-time names (runs.go's counters) use the builder. conds_test.go runs
// each against DynamoDB.
const (
	condAbsent   = "attribute_not_exists(PK)"                             // the item does not exist (a create, a first claim)
	condExists   = "attribute_exists(PK)"                                 // the item exists (an update must not create it)
	condVersion  = "version = :v"                                         // the item is at version :v (optimistic lock)
	condOwner    = "contactId = :o"                                       // the claim (phone or email item) is contact :o's
	condHeld     = "attribute_not_exists(contactId) AND appliedHash = :h" // a link item holds deltas of applied hash :h, no contact
	condLockedBy = "runId = :r"                                           // the run lock is run :r's
	condSending  = "#s = :sending"                                        // the outbox marker's status (#s) is :sending
	filterLive   = "expiresAt > :now"                                     // not expired (DynamoDB deletes expired items lazily)
	keyPartition = "PK = :pk"                                             // the items of partition :pk
	keyPrefix    = "PK = :pk AND begins_with(SK, :p)"                     // the items of :pk whose sort key begins with :p
	keyIndex1    = "GSI1PK = :pk"                                         // the GSI1 entries of partition :pk
	keyDue       = "GSI2PK = :pk AND GSI2SK <= :up"                       // the sparse GSI2 entries of shard :pk due by :up
)
