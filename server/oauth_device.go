package server

import (
	"crypto/rand"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/gatehouse-dev/gatehouse"
)

// The device authorization grant (RFC 8628). The CLI asks POST
// /oauth/device/code for a device code (kept secret, polled with) and a
// user code (shown to the person); the person opens /device anywhere,
// signs in, types the user code, and approves or denies on the consent
// page. Wrong user codes are throttled per address and per account
// (checklist D4).

// userCodeAlphabet has no vowels (no words) and none of the letters
// people confuse; 20^8 ≈ 2^34.6 codes.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

const userCodeLetters = 8

// newUserCode returns a random user code, "XXXX-XXXX".
func newUserCode() string {
	var out [userCodeLetters + 1]byte
	var buf [16]byte
	n := 0
	for n < userCodeLetters {
		if _, err := rand.Read(buf[:]); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		for _, b := range buf {
			// 240 = 12*20: bytes above it would favour the first letters.
			if b >= 240 || n == userCodeLetters {
				continue
			}
			i := n
			if n >= 4 {
				i++
			}
			out[i] = userCodeAlphabet[b%20]
			n++
		}
	}
	out[4] = '-'
	return string(out[:])
}

// maxUserCodeInput bounds what normalizeUserCode reads.
const maxUserCodeInput = 64

// normalizeUserCode turns what a person typed into the stored form
// "XXXX-XXXX": case, dashes and spaces do not matter. ok is false unless
// exactly eight letters of the alphabet remain.
func normalizeUserCode(typed string) (code string, ok bool) {
	if len(typed) > maxUserCodeInput {
		return "", false
	}
	var out [userCodeLetters + 1]byte
	n := 0
	for _, r := range typed {
		if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) {
			continue
		}
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		if r > unicode.MaxASCII || strings.IndexByte(userCodeAlphabet, byte(r)) < 0 || n == userCodeLetters {
			return "", false
		}
		i := n
		if n >= 4 {
			i++
		}
		out[i] = byte(r)
		n++
	}
	if n != userCodeLetters {
		return "", false
	}
	out[4] = '-'
	return string(out[:]), true
}

// deviceAnswer is the device authorization response (RFC 8628 §3.2).
// anaconda-auth requires verification_uri_complete.
type deviceAnswer struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// createGrantAttempts bounds retries after a user code collision, which
// takes two pending logins drawing the same of 2^34 codes.
const createGrantAttempts = 5

func (o *oauthServer) handleDeviceCode(w http.ResponseWriter, r *http.Request) {
	s := o.s
	form, oerr := readOAuthForm(w, r)
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	clientID := form.Get("client_id")
	if _, ok := publicClients[clientID]; !ok {
		writeOAuthError(w, &oauthError{"invalid_client", "Unknown client_id: use gatehouse-cli."})
		return
	}
	if !validUTF8Param(form.Get("scope"), maxScopeParam) {
		writeOAuthError(w, &oauthError{"invalid_scope", "The scope parameter is not valid."})
		return
	}
	now := s.now()
	deviceCode := randomToken()
	g := &gatehouse.OAuthGrant{
		Kind: gatehouse.GrantDevice, CodeHash: hashSecret(deviceCode), ClientID: clientID,
		Scopes: parseOAuthScope(form.Get("scope")), ClientName: requestClientName(form.Get),
		Status: gatehouse.GrantPending, CreatedAt: now, ExpiresAt: now.Add(deviceLifetime),
	}
	var err error
	for range createGrantAttempts {
		g.UserCode = newUserCode()
		if err = s.store.CreateGrant(r.Context(), g); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			break
		}
	}
	if err != nil {
		o.tokenEndpointFailed(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, deviceAnswer{
		DeviceCode:              deviceCode,
		UserCode:                g.UserCode,
		VerificationURI:         s.absURL("/device"),
		VerificationURIComplete: s.absURL("/device") + "?user_code=" + g.UserCode,
		ExpiresIn:               int(deviceLifetime.Seconds()),
		Interval:                int(deviceInterval.Seconds()),
	})
}

// devicePage is the data of templates/device.html.
type devicePage struct {
	UserCode string
	// Done is "approved" or "denied" once the person decided.
	Done    string
	Machine string
}

func (o *oauthServer) renderDevice(w http.ResponseWriter, r *http.Request, c *webCtx, status int, dp *devicePage, errMsg string) error {
	o.s.render(w, r, status, "device", &page{Title: "Connect a device", User: c.User, CSRF: c.CSRF, Error: errMsg, Content: dp})
	return nil
}

func (o *oauthServer) handleDevicePage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	typed := r.URL.Query().Get("user_code")
	if code, ok := normalizeUserCode(typed); ok {
		typed = code
	} else if len(typed) > maxUserCodeInput {
		typed = ""
	}
	return o.renderDevice(w, r, c, http.StatusOK, &devicePage{UserCode: typed}, "")
}

// handleDeviceForm takes the typed code: without a decision it shows the
// consent page for that login; with one it approves or denies it.
func (o *oauthServer) handleDeviceForm(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	s := o.s
	ctx := r.Context()
	typed := r.PostForm.Get("user_code")
	dp := &devicePage{UserCode: typed}
	if len(typed) > maxUserCodeInput {
		dp.UserCode = ""
	}
	ip := s.clientAddr(r).String()
	account := strconv.FormatInt(c.User.ID, 10)
	for _, subject := range []struct {
		l   *failureLimiter
		key string
	}{{o.failures, ip}, {o.accounts, account}} {
		if blocked, wait := subject.l.blocked(subject.key); blocked {
			s.metrics.rateLimited.Inc()
			w.Header().Set("Retry-After", strconv.Itoa(wait))
			return o.renderDevice(w, r, c, http.StatusTooManyRequests, dp,
				"Too many wrong codes. Wait "+strconv.Itoa(wait)+" seconds, then type the code your terminal shows.")
		}
	}
	code, ok := normalizeUserCode(typed)
	if !ok {
		return o.renderDevice(w, r, c, http.StatusBadRequest, dp,
			"A code is 8 letters, such as BCDF-GHJK. Type the code your terminal shows.")
	}
	dp.UserCode = code
	g, err := s.store.GrantByUserCode(ctx, code)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return err
	}
	if err != nil || !s.now().Before(g.ExpiresAt) {
		o.failures.fail(ip)
		o.accounts.fail(account)
		return o.renderDevice(w, r, c, http.StatusBadRequest, dp,
			"The code "+code+" is not valid: it may be mistyped, used already, or expired (codes last 10 minutes). Check your terminal, or start the sign-in again there.")
	}
	decision := r.PostForm.Get("decision")
	if decision == "" {
		return o.renderConsentForDevice(w, r, c, g)
	}
	to, action := gatehouse.GrantApproved, gatehouse.AuditOAuthApprove
	switch decision {
	case "approve":
	case "deny":
		to, action = gatehouse.GrantDenied, gatehouse.AuditOAuthDeny
	default:
		return gatehouse.Errorf(gatehouse.EINVALID, "Choose Approve or Deny.")
	}
	if err := s.store.SetGrantStatus(ctx, g.ID, gatehouse.GrantPending, to, c.User.ID); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			return o.renderDevice(w, r, c, http.StatusConflict, dp, "This sign-in was approved or denied already.")
		}
		return err
	}
	s.audit(ctx, &gatehouse.AuditEvent{ActorID: c.User.ID, Actor: c.User.Username, Action: action,
		Target: loginTarget(g.ClientName), IP: ip, Success: true,
		Detail: "client=" + g.ClientID + " machine=" + g.ClientName + " scopes=" + g.Scopes.String() +
			" flow=device grant=" + strconv.FormatInt(g.ID, 10)})
	dp.Done, dp.Machine = to, g.ClientName
	return o.renderDevice(w, r, c, http.StatusOK, dp, "")
}

func (o *oauthServer) renderConsentForDevice(w http.ResponseWriter, r *http.Request, c *webCtx, g *gatehouse.OAuthGrant) error {
	o.renderConsent(w, r, c, http.StatusOK, &consentPage{
		Machine: g.ClientName, Client: publicClients[g.ClientID], Scopes: g.Scopes.Labels(),
		Action: "/device", Hidden: []hiddenField{{"user_code", g.UserCode}}, UserCode: g.UserCode,
	})
	return nil
}
