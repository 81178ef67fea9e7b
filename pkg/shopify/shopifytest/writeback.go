package shopifytest

// RefuseWriteBacks makes every SMS consent update (a write-back) answer
// the user error message, as a shop refusing it for good does, until it is
// called again with "" (accept again).
func (s *Server) RefuseWriteBacks(message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseWriteBacks = message
}

// RefusedWriteBacks counts the write-backs refused so far.
func (s *Server) RefusedWriteBacks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}
