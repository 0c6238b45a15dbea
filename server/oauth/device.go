package oauth

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
	"github.com/gatehouse-dev/gatehouse/server/web"
	"github.com/gatehouse-dev/gatehouse/usercode"
)

// The device authorization grant (RFC 8628). The CLI asks POST
// /oauth/device/code for a device code (kept secret, polled with) and a
// user code (shown to the person); the person opens /device anywhere,
// signs in, types the user code, and approves or denies on the consent
// page. Wrong user codes are throttled per address and per account
// (checklist D4).

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

func (o *Server) handleDeviceCode(w http.ResponseWriter, r *http.Request) {
	form, err := readOAuthForm(w, r)
	if err != nil {
		o.cfg.Reply.OAuth(w, r, err)
		return
	}
	clientID := form.Get("client_id")
	if _, ok := o.cfg.Login.Client(clientID); !ok {
		o.cfg.Reply.OAuth(w, r, oauthErr("invalid_client", "Unknown client_id: use gatehouse-cli."))
		return
	}
	if !validUTF8Param(form.Get("scope"), maxScopeParam) {
		o.cfg.Reply.OAuth(w, r, oauthErr("invalid_scope", "The scope parameter is not valid."))
		return
	}
	deviceCode, g, err := o.cfg.Login.StartDevice(r.Context(), gatehouse.DeviceRequest{
		ClientID: clientID, Scopes: parseOAuthScope(form.Get("scope")), ClientName: requestClientName(form.Get),
		Addr: o.cfg.Addrs.Client(r)})
	if err != nil {
		o.cfg.Reply.OAuth(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	reply.JSON(w, http.StatusOK, deviceAnswer{
		DeviceCode:              deviceCode,
		UserCode:                g.UserCode,
		VerificationURI:         o.absURL("/device"),
		VerificationURIComplete: o.absURL("/device") + "?user_code=" + g.UserCode,
		ExpiresIn:               int(g.ExpiresAt.Sub(g.CreatedAt) / time.Second),
		Interval:                int(o.cfg.Login.DeviceInterval() / time.Second),
	})
}

// devicePage is the data of templates/device.html.
type devicePage struct {
	UserCode string
	// Done is "approved" or "denied" once the person decided.
	Done    string
	Machine string
}

func (o *Server) renderDevice(w http.ResponseWriter, r *http.Request, c *web.Ctx, status int, dp *devicePage, errMsg string) error {
	o.cfg.Pages.Render(w, r, status, "device", &web.Data{Title: "Connect a device", User: c.User, CSRF: c.CSRF, Error: errMsg, Content: dp})
	return nil
}

func (o *Server) handleDevicePage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	typed := r.URL.Query().Get("user_code")
	if code, ok := usercode.Normalize(typed); ok {
		typed = code
	} else if len(typed) > usercode.MaxInput {
		typed = ""
	}
	return o.renderDevice(w, r, c, http.StatusOK, &devicePage{UserCode: typed}, "")
}

// handleDeviceForm takes the typed code: without a decision it shows the
// consent page for that login; with one it approves or denies it.
func (o *Server) handleDeviceForm(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	typed := r.PostForm.Get("user_code")
	dp := &devicePage{UserCode: typed}
	if len(typed) > usercode.MaxInput {
		dp.UserCode = ""
	}
	code, ok := usercode.Normalize(typed)
	var (
		g   *gatehouse.OAuthGrant
		err error
	)
	if ok {
		dp.UserCode = code
		g, err = o.cfg.Login.PendingDevice(r.Context(), c.Principal(), code)
	}
	switch {
	case gatehouse.ErrorCode(err) == gatehouse.ERATELIMITED:
		var e *gatehouse.Error
		if asError(err, &e) {
			w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
		}
		return o.renderDevice(w, r, c, http.StatusTooManyRequests, dp, gatehouse.ErrorMessage(err))
	case !ok:
		return o.renderDevice(w, r, c, http.StatusBadRequest, dp, usercode.Problem(typed))
	case gatehouse.ErrorCode(err) == gatehouse.EINVALID:
		return o.renderDevice(w, r, c, http.StatusBadRequest, dp, gatehouse.ErrorMessage(err))
	case err != nil:
		return err
	}
	var approve bool
	switch r.PostForm.Get("decision") {
	case "":
		return o.renderConsentForDevice(w, r, c, g)
	case "approve":
		approve = true
	case "deny":
	default:
		return gatehouse.Errorf(gatehouse.EINVALID, "Choose Approve or Deny.")
	}
	if err := o.cfg.Login.DecideDevice(r.Context(), c.Principal(), g, approve); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			return o.renderDevice(w, r, c, http.StatusConflict, dp, gatehouse.ErrorMessage(err))
		}
		return err
	}
	dp.Done, dp.Machine = gatehouse.GrantDenied, g.ClientName
	if approve {
		dp.Done = gatehouse.GrantApproved
	}
	return o.renderDevice(w, r, c, http.StatusOK, dp, "")
}

func (o *Server) renderConsentForDevice(w http.ResponseWriter, r *http.Request, c *web.Ctx, g *gatehouse.OAuthGrant) error {
	client, _ := o.cfg.Login.Client(g.ClientID)
	o.renderConsent(w, r, c, http.StatusOK, &consentPage{
		Machine: g.ClientName, Client: client, Scopes: grantable(g.Scopes, c),
		Action: "/device", Hidden: []hiddenField{{"user_code", g.UserCode}}, UserCode: g.UserCode,
	})
	return nil
}
