package oauth

import "net/http"

// Mux is where routes are registered: an *http.ServeMux, or the server's
// recorder of one, which lists the routes for the route audits.
type Mux interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}
