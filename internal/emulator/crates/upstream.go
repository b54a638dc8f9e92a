package crates

// upstreamHas: the crate exists in the upstream registry the index passes
// through to (none configured: false).
func (s *Server) upstreamHas(name string) bool { return false }
