package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/server/api"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"
)

// contract sends requests to the real server and checks each exchange
// against the OpenAPI document: the request (so the document's schemas
// accept what clients send), the status, the headers and the body.
type contract struct {
	t      *testing.T
	f      *fixture
	doc    *openapi3.T
	router routers.Router
	// answered holds the operations that answered a success status.
	answered map[string]bool
	statuses map[string][]int
}

func newContract(t *testing.T, f *fixture, doc *openapi3.T) *contract {
	t.Helper()
	router, err := legacyrouter.NewRouter(doc)
	if err != nil {
		t.Fatalf("routing the document: %v", err)
	}
	return &contract{t: t, f: f, doc: doc, router: router, answered: map[string]bool{}, statuses: map[string][]int{}}
}

// exchange is one request and the status the test expects.
type exchange struct {
	method, path string
	auth         string // Authorization header
	header       http.Header
	remote       string // RemoteAddr, default 192.0.2.1:1234
	json         any    // a JSON body
	raw          []byte // or a body of contentType
	contentType  string
	want         int
	// refused says the document refuses the request too (no credential,
	// a field it does not declare): the test sends it to check the
	// error answer.
	refused bool
}

func (c *contract) do(e exchange) answer {
	c.t.Helper()
	body, ct := e.raw, e.contentType
	if e.json != nil {
		b, err := json.Marshal(e.json)
		if err != nil {
			c.t.Fatal(err)
		}
		body, ct = b, "application/json"
	}
	r := httptest.NewRequest(e.method, e.path, bytes.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if e.auth != "" {
		r.Header.Set("Authorization", e.auth)
	}
	for k, v := range e.header {
		r.Header[k] = v
	}
	r.RemoteAddr = "192.0.2.1:1234"
	if e.remote != "" {
		r.RemoteAddr = e.remote
	}
	name := e.method + " " + e.path

	route, params, err := c.router.FindRoute(r)
	if err != nil {
		c.t.Fatalf("%s: no operation of the document matches: %v", name, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: presentCredential, MultiError: true}}
	err = openapi3filter.ValidateRequest(context.Background(), in)
	switch {
	case err != nil && !e.refused:
		c.t.Errorf("%s: the document refuses the request:\n%v", name, err)
	case err == nil && e.refused:
		c.t.Errorf("%s: the document accepts a request the test means it to refuse", name)
	}
	r.Body = io.NopCloser(bytes.NewReader(body)) // validation read it

	w := httptest.NewRecorder()
	c.f.srv.ServeHTTP(w, r)
	a := answer{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
	if a.status != e.want {
		c.t.Errorf("%s: status %d, want %d: %s", name, a.status, e.want, a.body)
	}
	op := route.Method + " " + route.Path
	c.statuses[op] = append(c.statuses[op], a.status)
	if a.status < 300 {
		c.answered[op] = true
	}
	if err := c.checkAnswer(in, a); err != nil {
		c.t.Errorf("%s: the answer (%d) does not match the document:\n%v\nbody: %s", name, a.status, err, a.body)
		return a
	}
	if op != "GET "+api.OpenAPIPath {
		c.checkClosed(name, in, a)
	}
	return a
}

// checkAnswer validates an answer against the response the document gives
// for its status; a status the document does not give fails.
func (c *contract) checkAnswer(in *openapi3filter.RequestValidationInput, a answer) error {
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: a.status, Header: a.header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(a.body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return err
	}
	// kin-openapi does not check that a response without content has
	// no body.
	if resp := in.Route.Operation.Responses.Status(a.status); resp != nil && len(resp.Value.Content) == 0 && len(a.body) > 0 {
		return fmt.Errorf("the document gives no content for %d, the answer has %d bytes", a.status, len(a.body))
	}
	return nil
}

// checkClosed adds a field to each object of a JSON answer in turn (the
// first element of an array stands for the rest) and expects the
// document to refuse every such answer: a field the server adds without
// documenting it fails here.
func (c *contract) checkClosed(name string, in *openapi3filter.RequestValidationInput, a answer) {
	c.t.Helper()
	if len(a.body) == 0 {
		return
	}
	var v any
	if err := json.Unmarshal(a.body, &v); err != nil {
		c.t.Errorf("%s: the answer is not JSON: %v", name, err)
		return
	}
	for _, m := range withUndeclaredField(v, "") {
		b, _ := json.Marshal(m.value)
		if c.checkAnswer(in, answer{status: a.status, header: a.header, body: b}) == nil {
			c.t.Errorf("%s: the document accepts a field it does not declare in the answer's object %q", name, m.at)
		}
	}
}

type mutation struct {
	at    string // JSON pointer of the object that got a field
	value any
}

// withUndeclaredField returns copies of v, one for each object in it, each
// with a field no schema of the document declares.
func withUndeclaredField(v any, at string) []mutation {
	switch x := v.(type) {
	case map[string]any:
		extra := maps.Clone(x)
		extra["not_in_the_document"] = true
		out := []mutation{{at: at, value: extra}}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			for _, m := range withUndeclaredField(x[k], at+"/"+k) {
				y := maps.Clone(x)
				y[k] = m.value
				out = append(out, mutation{at: m.at, value: y})
			}
		}
		return out
	case []any:
		var out []mutation
		if len(x) > 0 {
			for _, m := range withUndeclaredField(x[0], at+"/0") {
				y := slices.Clone(x)
				y[0] = m.value
				out = append(out, mutation{at: m.at, value: y})
			}
		}
		return out
	}
	return nil
}

// presentCredential says whether a request carries the credential a
// security scheme of the document describes, so the document's security
// is checked against the requests real clients send.
func presentCredential(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r, s := in.RequestValidationInput.Request, in.SecurityScheme
	switch {
	case s.Type == "http" && strings.EqualFold(s.Scheme, "bearer"):
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			return nil
		}
	case s.Type == "http" && strings.EqualFold(s.Scheme, "basic"):
		if _, _, ok := r.BasicAuth(); ok {
			return nil
		}
	case s.Type == "apiKey" && s.In == "cookie":
		if _, err := r.Cookie(s.Name); err == nil {
			return nil
		}
	case s.Type == "apiKey" && s.In == "header":
		if r.Header.Get(s.Name) != "" {
			return nil
		}
	}
	return fmt.Errorf("no %s credential", in.SecuritySchemeName)
}

// multipartBody is an upload form: fields in order, then the file.
func multipartBody(t *testing.T, filename string, data []byte, fields ...string) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for i := 0; i+1 < len(fields); i += 2 {
		if err := mw.WriteField(fields[i], fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), mw.FormDataContentType()
}
