// Package client is a typed Go client of Gatehouse's HTTP API, used by the
// gatehouse CLI and by end-to-end tests.
//
// Every call has a timeout, sends User-Agent "gatehouse-cli/<version>", and
// carries the API key only in the Authorization header: never in a URL, and
// never in an error. A refusal from the server comes back as *Error, whose
// Error() is the server's own sentence; a failure to reach the server is any
// other error.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults for the options.
const (
	DefaultTimeout       = 30 * time.Second
	DefaultUploadTimeout = 2 * time.Hour
	// maxResponse bounds a JSON answer read into memory.
	maxResponse = 32 << 20
)

// Client calls one Gatehouse server with one credential.
type Client struct {
	base          *url.URL
	key           string
	hc            *http.Client
	userAgent     string
	timeout       time.Duration
	uploadTimeout time.Duration
	insecure      bool
	// onExpiry is told, once, when the server says the key expires soon.
	onExpiry   func(time.Time)
	expiryOnce sync.Once
}

// KeyExpiresHeader is set by the server on answers to a key that expires
// within its warning window.
const KeyExpiresHeader = "Gatehouse-Key-Expires"

// WithKeyExpiryNotice calls fn, once per client, when an answer says the
// client's key expires soon (at the time given).
func WithKeyExpiryNotice(fn func(expires time.Time)) Option {
	return func(c *Client) { c.onExpiry = fn }
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient uses hc for every request. Its Timeout is ignored in favour
// of the per-call timeouts, so uploads are not cut short.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTimeout bounds each call other than uploads (default 30 s).
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithUploadTimeout bounds one package upload (default 2 h).
func WithUploadTimeout(d time.Duration) Option { return func(c *Client) { c.uploadTimeout = d } }

// WithVersion sets the User-Agent to "gatehouse-cli/<version>".
func WithVersion(v string) Option {
	return func(c *Client) { c.userAgent = "gatehouse-cli/" + v }
}

// WithInsecureSkipVerify turns off TLS certificate checks (ssl_verify =
// false in the anaconda-auth config). The caller should warn the person.
func WithInsecureSkipVerify() Option { return func(c *Client) { c.insecure = true } }

// New returns a client of the server at baseURL (http:// or https://, with
// an optional path prefix) that authenticates with key ("" for none).
func New(baseURL, key string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("the server address must be an http:// or https:// URL with a host")
	}
	if u.User != nil {
		// A password here would end up in logs and error messages.
		return nil, errors.New("the server address must not contain a user name or password")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	c := &Client{base: u, key: key, userAgent: "gatehouse-cli/dev", timeout: DefaultTimeout, uploadTimeout: DefaultUploadTimeout}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = NewHTTPClient(c.insecure)
	}
	return c, nil
}

// NewHTTPClient returns an http.Client with the transport settings the CLI
// uses: bounded connection and header waits, 100-continue for uploads, and
// optionally no TLS verification.
func NewHTTPClient(insecure bool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSHandshakeTimeout = 15 * time.Second
	t.ResponseHeaderTimeout = 5 * time.Minute // a large upload is verified before the answer
	t.ExpectContinueTimeout = 2 * time.Second
	if insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by ssl_verify = false
	}
	return &http.Client{Transport: t, CheckRedirect: noCrossHostRedirect}
}

// noCrossHostRedirect keeps the Authorization header from following a
// redirect to another host (Go drops it then too) and bounds the chain.
func noCrossHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	return nil
}

// BaseURL returns the server's base URL.
func (c *Client) BaseURL() *url.URL { u := *c.base; return &u }

// HTTPClient returns the http.Client the client uses, so OAuth calls to the
// same server share its TLS settings.
func (c *Client) HTTPClient() *http.Client { return c.hc }

// UserAgent is the User-Agent the client sends.
func (c *Client) UserAgent() string { return c.userAgent }

// Error is a refusal from the server: its HTTP status and the JSON body's
// code, reason ("API KEY EXPIRED", ...), field and message.
type Error struct {
	Status  int
	Code    string
	Reason  string
	Field   string
	Message string
}

// Error returns the server's sentence, or the status when it sent none.
func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("The server answered %d %s.", e.Status, http.StatusText(e.Status))
}

// IsStatus reports whether err is an *Error with the HTTP status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// url joins the API path p (already escaped) onto the base URL.
func (c *Client) url(p string) string {
	return c.base.String() + p
}

// newRequest builds a request with the client's headers. auth is the full
// Authorization value; "" means the client's key, if any.
func (c *Client) newRequest(ctx context.Context, method, p string, body io.Reader, auth string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.url(p), body)
	if err != nil {
		return nil, fmt.Errorf("building the request to %s: %w", c.base.Host, err)
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	switch {
	case auth != "":
		req.Header.Set("Authorization", auth)
	case c.key != "":
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	return req, nil
}

// call sends a JSON request (in may be nil) and decodes a JSON answer into
// out (which may be nil), within the client's timeout.
func (c *Client) call(ctx context.Context, method, p string, in, out any, header http.Header) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, p, body, header.Get("Authorization"))
	if err != nil {
		return err
	}
	for k, v := range header {
		if k != "Authorization" {
			req.Header[k] = v
		}
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	return c.decode(resp, out)
}

// decode turns a response into out, or into *Error for a refusal.
func (c *Client) decode(resp *http.Response, out any) error {
	if v := resp.Header.Get(KeyExpiresHeader); v != "" && c.onExpiry != nil {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			c.expiryOnce.Do(func() { c.onExpiry(t) })
		}
	}
	if resp.StatusCode >= 300 {
		return readError(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
		return nil
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxResponse))
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("the server at %s sent an answer that is not the JSON expected (%v); is this a Gatehouse server?", c.base.Host, err)
	}
	return nil
}

// readError reads the JSON error body of a refusal. The body never holds a
// key (checklist J1), and a non-JSON body is reduced to its status.
func readError(resp *http.Response) error {
	e := &Error{Status: resp.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Code    string `json:"code"`
		Reason  string `json:"reason"`
		Field   string `json:"field"`
		Message string `json:"message"`
		Detail  string `json:"detail"`
	}
	if json.Unmarshal(b, &body) == nil {
		e.Code, e.Reason, e.Field, e.Message = body.Code, body.Reason, body.Field, body.Message
		if e.Message == "" {
			e.Message = body.Detail
		}
	}
	if e.Message == "" && resp.StatusCode == http.StatusNotFound {
		e.Message = "The server has no such endpoint; is this a Gatehouse server, and is it up to date?"
	}
	return e
}

// transportError says the server could not be reached, without the URL's
// details: only the host, and the cause.
func (c *Client) transportError(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return &NetError{Host: c.base.Host, Err: fmt.Errorf("no answer within the time limit: %w", context.DeadlineExceeded)}
	}
	return &NetError{Host: c.base.Host, Err: err, Hint: netHint(c.base, err)}
}

// netHint says what a failure to connect most likely means, for people:
// nothing listening, or https spoken to a plain-HTTP server.
func netHint(base *url.URL, err error) string {
	var rh tls.RecordHeaderError
	switch {
	case base.Scheme == "https" && (errors.As(err, &rh) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")):
		plain := *base
		plain.Scheme = "http"
		return fmt.Sprintf("%s answers plain HTTP, not HTTPS: use --at %s", base.Host, plain.String())
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("Nothing is listening at %s: is the server running, and are the host and port right?", base.Host)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
		return fmt.Sprintf("%s closed the connection without an answer: is a Gatehouse server listening there, and are the host, port and scheme (http or https) right?", base.Host)
	}
	return ""
}

// NetError is a failure to reach the server or to get its whole answer.
type NetError struct {
	Host string
	Err  error
	// Hint says what the failure most likely means; may be empty.
	Hint string
}

func (e *NetError) Error() string {
	if e.Hint != "" {
		return fmt.Sprintf("Cannot reach %s: %v. %s", e.Host, e.Err, e.Hint)
	}
	return fmt.Sprintf("Cannot reach %s: %v.", e.Host, e.Err)
}
func (e *NetError) Unwrap() error { return e.Err }

// IsUnreachable reports whether err means the server could not be reached
// (as opposed to a refusal it sent).
func IsUnreachable(err error) bool {
	var ne *NetError
	return errors.As(err, &ne)
}
