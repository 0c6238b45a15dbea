package server

import "net/http"

// accountPages registers Account Settings, organization and administration
// pages.
func (s *Server) accountPages(mux *http.ServeMux) {}
