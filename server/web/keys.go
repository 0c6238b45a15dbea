package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

// The API Keys tab of Account Settings: list, create (the key is shown
// once, in the answer to the POST, never in a URL), revoke.

// expiryPresets are the choices of the Expiration dropdown, in days.
var expiryPresets = []struct {
	Value, Label string
	Days         int
}{
	{"7", "7 days", 7},
	{"30", "30 days", 30},
	{"90", "90 days", 90},
	{"365", "1 year", 365},
}

// defaultExpiry is the preset chosen when the form opens.
const defaultExpiry = "30"

// keysPage is the data of the API Keys tab.
type keysPage struct {
	Keys     []keyRow
	Form     keyForm
	FormOpen bool   // the create dialog opens on load (after an error, or ?create)
	FormErr  string // shown inside the create dialog
	// Created is set only in the answer to a successful creation: the one
	// and only time the key is in a page (checklist A3).
	Created  *createdKeyPage
	CanAdmin bool
	// MinDate and MaxDate bound the custom expiry date (YYYY-MM-DD, UTC).
	MinDate, MaxDate string
	Presets          []expiryOption
	// RevokeID opens that key's confirmation on load (?revoke=ID), so the
	// page also works without JavaScript.
	RevokeID int64
	// ReplaceURL, on answers to a POST, is swapped into the browser's
	// history, so reloading the page is a GET and never resubmits the form.
	ReplaceURL string
}

type keyRow struct {
	ID         int64
	Name       string
	Hint       string
	Scopes     []string
	Status     gatehouse.KeyStatus
	Replaced   bool
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// keyForm is what the create dialog holds, kept across an error.
type keyForm struct {
	Name                     string
	ScopeUser, ScopeChannels bool
	ScopeAdmin               bool
	Expiration               string // a preset's Value or "custom"
	CustomDate               string // YYYY-MM-DD
}

type expiryOption struct {
	Value, Label string
	Selected     bool
}

type createdKeyPage struct {
	Key       string
	Name      string
	Scopes    []string
	ExpiresAt time.Time
	Replaced  bool
}

func (s *Pages) handleKeysPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	kp := &keysPage{Form: keyForm{ScopeUser: true, Expiration: defaultExpiry}}
	q := r.URL.Query()
	kp.FormOpen = q.Has("create")
	if id, err := strconv.ParseInt(q.Get("revoke"), 10, 64); err == nil {
		kp.RevokeID = id
	}
	return s.renderKeys(w, r, c, http.StatusOK, kp, &Data{})
}

func (s *Pages) handleCreateKeyPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	f := keyForm{
		Name:       r.PostFormValue("name"),
		Expiration: r.PostFormValue("expiration"),
		CustomDate: strings.TrimSpace(r.PostFormValue("custom_date")),
	}
	scopes, scopeErr := gatehouse.ParseScopes(r.PostForm["scope"])
	f.ScopeUser = scopes.Has(gatehouse.ScopeUser)
	f.ScopeChannels = scopes.Has(gatehouse.ScopeChannels)
	f.ScopeAdmin = scopes.Has(gatehouse.ScopeAdmin)
	kp := &keysPage{Form: f, ReplaceURL: "/settings/keys"}
	// The checks run in the order of the form, so the person sees the
	// first problem first; createKey repeats them all.
	err := gatehouse.ValidateKeyName(strings.TrimSpace(f.Name))
	if err == nil {
		err = scopeErr
	}
	if err == nil {
		err = gatehouse.ValidateKeyScopes(c.User, scopes)
	}
	var expires time.Time
	if err == nil {
		expires, err = keyExpiry(s.now(), f.Expiration, f.CustomDate)
	}
	var nk *gatehouse.NewKey
	if err == nil {
		nk, err = s.cfg.Keys.CreateKey(r.Context(), c.Principal(), gatehouse.KeyRequest{Name: f.Name, Scopes: scopes, ExpiresAt: expires})
	}
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		kp.FormOpen, kp.FormErr = true, gatehouse.ErrorMessage(err)
		return s.renderKeys(w, r, c, reply.Status(err), kp, &Data{})
	}
	kp.Form = keyForm{ScopeUser: true, Expiration: defaultExpiry}
	kp.Created = &createdKeyPage{Key: nk.Secret, Name: nk.Key.Name, Scopes: nk.Key.Scopes.Labels(),
		ExpiresAt: nk.Key.ExpiresAt, Replaced: nk.Replaced != nil}
	// render sets Cache-Control: no-store: the key is in no cache, no URL
	// and no history entry that a reload could bring back.
	return s.renderKeys(w, r, c, http.StatusOK, kp, &Data{})
}

func (s *Pages) handleRevokeKeyPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	kp := &keysPage{Form: keyForm{ScopeUser: true, Expiration: defaultExpiry}, ReplaceURL: "/settings/keys"}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "No such key.")
	}
	k, err := s.cfg.Keys.RevokeKey(r.Context(), c.Principal(), id, gatehouse.RevokedByUser)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		return s.renderKeys(w, r, c, reply.Status(err), kp, &Data{Error: gatehouse.ErrorMessage(err)})
	}
	p := &Data{Flash: "The key “" + k.Name + "” was revoked. Anything that still uses it is refused from now on."}
	return s.renderKeys(w, r, c, http.StatusOK, kp, p)
}

// renderKeys fills in the list and the form's bounds and renders the tab.
func (s *Pages) renderKeys(w http.ResponseWriter, r *http.Request, c *Ctx, status int, kp *keysPage, p *Data) error {
	keys, err := s.cfg.Keys.ListKeys(r.Context(), c.Principal())
	if err != nil {
		return err
	}
	now := s.now()
	kp.Keys = make([]keyRow, len(keys))
	for i, k := range keys {
		kp.Keys[i] = keyRow{ID: k.ID, Name: k.Name, Hint: k.Hint, Scopes: k.Scopes.Labels(), Status: k.Status(now),
			Replaced: k.RevokeReason == gatehouse.RevokedReplaced, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt,
			LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
	}
	minDate, maxDate := customDateBounds(now)
	kp.MinDate, kp.MaxDate = minDate.Format(time.DateOnly), maxDate.Format(time.DateOnly)
	kp.CanAdmin = c.User.IsAdmin
	kp.Presets = make([]expiryOption, 0, len(expiryPresets)+1)
	for _, e := range expiryPresets {
		kp.Presets = append(kp.Presets, expiryOption{Value: e.Value, Label: e.Label, Selected: kp.Form.Expiration == e.Value})
	}
	kp.Presets = append(kp.Presets, expiryOption{Value: "custom", Label: "Custom", Selected: kp.Form.Expiration == "custom"})
	p.Title, p.Tab, p.User, p.CSRF, p.Content = "API Keys", "settings", c.User, c.CSRF, kp
	s.Render(w, r, status, "keys", p)
	return nil
}

// customDateBounds returns the first and last day (UTC midnights) a
// custom expiry date may name: tomorrow, and the day a year from now.
func customDateBounds(now time.Time) (first, last time.Time) {
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	limit := now.Add(gatehouse.MaxKeyLifetime)
	return today.AddDate(0, 0, 1), time.Date(limit.Year(), limit.Month(), limit.Day(), 0, 0, 0, 0, time.UTC)
}

// keyExpiry turns the form's choice into an expiry time. A preset is now
// plus that many days; a custom date D is the end of D in UTC (23:59:59),
// capped at now plus one year, so the last allowed day is usable too.
func keyExpiry(now time.Time, choice, custom string) (time.Time, error) {
	now = now.UTC().Truncate(time.Second)
	for _, e := range expiryPresets {
		if choice == e.Value {
			return now.Add(time.Duration(e.Days) * 24 * time.Hour), nil
		}
	}
	if choice != "custom" {
		return time.Time{}, gatehouse.FieldErrorf("expires_at", "Choose when the key expires: 7, 30 or 90 days, 1 year, or a custom date.")
	}
	first, last := customDateBounds(now)
	d, err := time.Parse(time.DateOnly, custom)
	if err != nil {
		return time.Time{}, gatehouse.FieldErrorf("expires_at", "Pick the expiry date in the calendar, as YYYY-MM-DD, from %s to %s.",
			first.Format(time.DateOnly), last.Format(time.DateOnly))
	}
	if d.Before(first) {
		return time.Time{}, gatehouse.FieldErrorf("expires_at", "The expiry date %s is not in the future: choose a date from %s to %s.",
			d.Format(time.DateOnly), first.Format(time.DateOnly), last.Format(time.DateOnly))
	}
	if d.After(last) {
		return time.Time{}, gatehouse.FieldErrorf("expires_at", "Keys live at most one year: choose a date no later than %s.", last.Format(time.DateOnly))
	}
	end := d.Add(24*time.Hour - time.Second)
	if limit := now.Add(gatehouse.MaxKeyLifetime); end.After(limit) {
		end = limit
	}
	return end, nil
}
