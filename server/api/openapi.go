package api

import (
	_ "embed"
	"net/http"
	"strconv"
)

// OpenAPIPath is where the OpenAPI document is served.
const OpenAPIPath = "/api/openapi.json"

// openAPIDocument is the OpenAPI 3.1 description of every /api route. It
// is written by hand, so it reads as documentation; the server's OpenAPI
// test keeps it equal to the routes served, their scopes and their
// answers, so it cannot drift from the code.
//
//go:embed openapi.json
var openAPIDocument []byte

// handleOpenAPI serves the document to anyone: it holds nothing secret,
// and clients and code generators read it before they have a key. It
// changes only with a release, so shared caches may keep it a while.
func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Content-Length", strconv.Itoa(len(openAPIDocument)))
	w.Write(openAPIDocument)
}
