package store

// SetBeforeWrite installs a hook that runs between reading a record's state
// and writing its decision (tests drive interleavings with it).
func SetBeforeWrite(s *Store, f func()) { s.beforeWrite = f }
