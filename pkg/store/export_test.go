package store

// SetBeforeWrite installs a hook that runs between reading a record's state
// and writing its decision (tests drive interleavings with it).
func SetBeforeWrite(s *Store, f func()) { s.beforeWrite = f }

// SetAfterWrite installs a hook that runs after a decision's transaction
// commits and before its side writes are queued; an error it returns fails
// the record there, as a crash would.
func SetAfterWrite(s *Store, f func() error) { s.afterWrite = f }
