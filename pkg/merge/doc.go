// Package merge decides what one source record does to the hub's contacts
// (design.md §3): matching by phone and email, per-field "newest wins",
// groups, source links, deletes, and the consent event for the contact's
// phone. It is pure: the store reads a State, Merge returns a Decision of
// explicit idempotent mutations, and the store applies them with
// conditional writes. Apply computes the same after-image in memory.
package merge
