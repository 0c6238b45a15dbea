package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/keyrule"
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

// defaultExpiry is the preset chosen when the form opens: the lifetime
// every key gets by default (the CLI's too).
var defaultExpiry = strconv.Itoa(gatehouse.DefaultKeyDays)

// newKeyForm is the create dialog as it opens: the default scopes and
// lifetime of every key.
func newKeyForm() KeyForm {
	return KeyForm{ScopeUser: gatehouse.DefaultKeyScopes.Has(gatehouse.ScopeUser),
		ScopeChannels: gatehouse.DefaultKeyScopes.Has(gatehouse.ScopeChannels), Expiration: defaultExpiry}
}

// keysPage is the data of the API Keys tab.
type keysPage struct {
	KeyDialog
	Keys     []KeyRow
	CanAdmin bool
	// RevokeID opens that key's confirmation on load (?revoke=ID), so the
	// page also works without JavaScript.
	RevokeID int64
	// ReplaceURL, on answers to a POST, is swapped into the browser's
	// history, so reloading the page is a GET and never resubmits the form.
	ReplaceURL string
	// Replacing is the active key whose name the form reuses, when the
	// person has not yet confirmed revoking it.
	Replacing   *KeyRow
	WarningDays int
	// Show is the list's filter ("active", "inactive" or "all"), with
	// the number of keys on either side of it.
	Show               string
	ActiveN, InactiveN int
}

// newKeysPage is the tab's data with the create dialog holding form.
func newKeysPage(form KeyForm) *keysPage {
	return &keysPage{KeyDialog: KeyDialog{Form: form, Action: "/settings/keys", Title: "Create API Key", Submit: "Create API Key",
		Noun: "API key", Lifetime: "API keys have a maximum lifespan of",
		RestrictHelp: "Leave all unticked for every channel you can use. A key limited to channels is refused everywhere else."}}
}

type KeyRow struct {
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
	// Restriction says which channels the key may reach ("" for all) and
	// ExpiringSoon flags it within the warning window.
	Restriction  string
	ExpiringSoon bool
}

func (s *Pages) handleKeysPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	kp := newKeysPage(newKeyForm())
	q := r.URL.Query()
	kp.FormOpen = q.Has("create")
	if id, err := strconv.ParseInt(q.Get("revoke"), 10, 64); err == nil {
		kp.RevokeID = id
	}
	return s.renderKeys(w, r, c, http.StatusOK, kp, &Data{})
}

func (s *Pages) handleCreateKeyPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	f := KeyForm{
		Name:       r.PostFormValue("name"),
		Expiration: r.PostFormValue("expiration"),
		CustomDate: strings.TrimSpace(r.PostFormValue("custom_date")),
	}
	scopes, scopeErr := gatehouse.ParseScopes(r.PostForm["scope"])
	f.ScopeUser = scopes.Has(gatehouse.ScopeUser)
	f.ScopeChannels = scopes.Has(gatehouse.ScopeChannels)
	f.ScopeAdmin = scopes.Has(gatehouse.ScopeAdmin)
	f.Channels = r.PostForm["channel"]
	f.ReadOnly = r.PostFormValue("read_only") == "on"
	kp := newKeysPage(f)
	kp.ReplaceURL = "/settings/keys"
	// The checks run in the order of the form, so the person sees the
	// first problem first; createKey repeats them all.
	err := keyrule.ValidateName(strings.TrimSpace(f.Name))
	if err == nil {
		err = scopeErr
	}
	if err == nil {
		err = keyrule.ValidateScopes(c.User, scopes)
	}
	var expires time.Time
	var limits *gatehouse.KeyLimits
	if err == nil {
		limits, err = s.cfg.Keys.Limits(r.Context(), c.Principal())
	}
	if err == nil {
		expires, err = KeyExpiry(s.now(), f.Expiration, f.CustomDate, gatehouse.Days(limits.MaxDays))
	}
	if err == nil && r.PostFormValue("replace") != f.Name {
		// Reusing a name revokes the key that has it: only once the
		// person has seen which key that is and confirmed.
		old, lerr := s.activeKeyNamed(r, c, f.Name)
		if lerr != nil {
			return lerr
		}
		if old != nil {
			kp.FormOpen, kp.Replacing = true, old
			return s.renderKeys(w, r, c, http.StatusConflict, kp, &Data{})
		}
	}
	var nk *gatehouse.NewKey
	if err == nil {
		req := gatehouse.KeyRequest{Name: f.Name, Scopes: scopes, ExpiresAt: expires, Channels: f.Channels}
		if f.ReadOnly {
			req.ChannelAccess = gatehouse.ChannelRead
		}
		nk, err = s.cfg.Keys.CreateKey(r.Context(), c.Principal(), req)
	}
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		// Every refusal shows at the head of this form.
		kp.FormOpen, kp.Errs = true, FieldErrors{"": gatehouse.ErrorMessage(err)}
		return s.renderKeys(w, r, c, reply.Status(err), kp, &Data{})
	}
	kp.Form = newKeyForm()
	kp.Created = &CreatedKey{Key: nk.Secret, Name: nk.Key.Name, Scopes: nk.Key.Scopes.Labels(),
		ExpiresAt: nk.Key.ExpiresAt, Replaced: nk.Replaced != nil}
	// render sets Cache-Control: no-store: the key is in no cache, no URL
	// and no history entry that a reload could bring back.
	return s.renderKeys(w, r, c, http.StatusOK, kp, &Data{})
}

// activeKeyNamed returns the caller's active key called name, or nil.
func (s *Pages) activeKeyNamed(r *http.Request, c *Ctx, name string) (*KeyRow, error) {
	keys, err := s.cfg.Keys.ListKeys(r.Context(), c.Principal())
	if err != nil {
		return nil, err
	}
	now := s.now()
	for _, k := range keys {
		if k.Name == name && k.Status(now) == gatehouse.KeyActive {
			return &KeyRow{ID: k.ID, Name: k.Name, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt}, nil
		}
	}
	return nil, nil
}

func (s *Pages) handleRevokeKeyPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	kp := newKeysPage(newKeyForm())
	kp.ReplaceURL = "/settings/keys"
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
	// The answer lists every key, so the one just revoked shows with its
	// date.
	kp.Show, kp.ReplaceURL = "all", "/settings/keys?show=all"
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
	limits, err := s.cfg.Keys.Limits(r.Context(), c.Principal())
	if err != nil {
		return err
	}
	kp.MaxDays, kp.WarningDays = limits.MaxDays, limits.WarningDays
	for _, rule := range limits.Rules {
		kp.PolicyNotes = append(kp.PolicyNotes, "The key policy of "+rule.Source+" allows keys of at most "+strconv.Itoa(int(rule.Max/(24*time.Hour)))+" days.")
	}
	if kp.Show == "" {
		kp.Show = keyFilter(r.URL.Query().Get("show"))
	}
	kp.Keys = make([]KeyRow, 0, len(keys))
	for _, k := range keys {
		active := k.Status(now) == gatehouse.KeyActive
		if active {
			kp.ActiveN++
		} else {
			kp.InactiveN++
		}
		if (kp.Show == "active" && !active) || (kp.Show == "inactive" && active) {
			continue
		}
		kp.Keys = append(kp.Keys, KeyRow{})
		i := len(kp.Keys) - 1
		kp.Keys[i] = KeyRow{ID: k.ID, Name: k.Name, Hint: k.Hint, Scopes: k.Scopes.Labels(), Status: k.Status(now),
			Replaced: k.RevokeReason == gatehouse.RevokedReplaced, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt,
			LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt, ExpiringSoon: gatehouse.ExpiringSoon(k, now, limits.Warning)}
		if len(k.Channels) > 0 {
			kp.Keys[i].Restriction = strings.Join(k.Channels, ", ")
		}
		if k.ChannelAccess == gatehouse.ChannelRead {
			kp.Keys[i].Restriction = strings.TrimPrefix(kp.Keys[i].Restriction+", read-only", ", ")
		}
	}
	if chans, err := s.cfg.Channels.Channels(r.Context(), c.Principal()); err == nil {
		for _, ca := range chans {
			kp.ChannelChoices = append(kp.ChannelChoices, ChannelChoice{Name: ca.Channel.Name, Selected: slices.Contains(kp.Form.Channels, ca.Channel.Name)})
		}
	}
	minDate, maxDate := CustomDateBounds(now, gatehouse.Days(limits.MaxDays))
	kp.MinDate, kp.MaxDate = minDate.Format(time.DateOnly), maxDate.Format(time.DateOnly)
	kp.CanAdmin = c.User.IsAdmin
	kp.Presets = PresetOptions(kp.MaxDays, kp.Form.Expiration)
	p.Title, p.Tab, p.User, p.CSRF, p.Content = "API Keys", "settings", c.User, c.CSRF, kp
	s.Render(w, r, status, "keys", p)
	return nil
}

// AllN is the number of keys, active or not.
func (kp *keysPage) AllN() int { return kp.ActiveN + kp.InactiveN }

// keyFilter is the API Keys list's filter: active keys unless the
// person asks for the expired and revoked ones, or all.
func keyFilter(show string) string {
	switch show {
	case "inactive", "all":
		return show
	}
	return "active"
}

// PresetOptions are the Expiration dropdown's choices when keys may live
// at most maxDays: the presets that fit, the longest allowed if no preset
// is exactly that, and Custom; selected is the chosen Value.
func PresetOptions(maxDays int, selected string) []ExpiryOption {
	out := make([]ExpiryOption, 0, len(expiryPresets)+2)
	for _, e := range expiryPresets {
		if e.Days > maxDays {
			continue // the key policies allow no such key
		}
		out = append(out, ExpiryOption{Value: e.Value, Label: e.Label, Selected: selected == e.Value})
	}
	if maxDays < expiryPresets[len(expiryPresets)-1].Days && !isPreset(maxDays) {
		v := strconv.Itoa(maxDays)
		out = append(out, ExpiryOption{Value: v, Label: v + " days (the longest allowed)", Selected: selected == v})
	}
	if selected != "custom" && !slices.ContainsFunc(out, func(o ExpiryOption) bool { return o.Selected }) && len(out) > 0 {
		// The default is longer than the policies allow: the longest
		// they do is the nearest choice.
		out[len(out)-1].Selected = true
	}
	return append(out, ExpiryOption{Value: "custom", Label: "Custom", Selected: selected == "custom"})
}

// isPreset reports whether a preset lasts exactly days.
func isPreset(days int) bool {
	for _, e := range expiryPresets {
		if e.Days == days {
			return true
		}
	}
	return false
}

// CustomDateBounds returns the first and last day (UTC midnights) a
// custom expiry date may name: tomorrow, and the day max from now (the
// longest the key policies allow).
func CustomDateBounds(now time.Time, max time.Duration) (first, last time.Time) {
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	limit := now.Add(max)
	return today.AddDate(0, 0, 1), time.Date(limit.Year(), limit.Month(), limit.Day(), 0, 0, 0, 0, time.UTC)
}

// KeyExpiry turns the form's choice into an expiry time. A preset is now
// plus that many days; a custom date D is the end of D in UTC (23:59:59),
// capped at now plus one year, so the last allowed day is usable too.
func KeyExpiry(now time.Time, choice, custom string, max time.Duration) (time.Time, error) {
	now = now.UTC().Truncate(time.Second)
	for _, e := range expiryPresets {
		if choice == e.Value {
			return now.Add(time.Duration(e.Days) * 24 * time.Hour), nil
		}
	}
	if days, err := strconv.Atoi(choice); err == nil && days > 0 && gatehouse.Days(days) == max {
		return now.Add(max), nil // the "longest allowed" preset
	}
	if choice != "custom" {
		return time.Time{}, gatehouse.FieldErrorf("expires_at", "Choose when the key expires: 7, 30 or 90 days, 1 year, or a custom date.")
	}
	first, last := CustomDateBounds(now, max)
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
		return time.Time{}, gatehouse.FieldErrorf("expires_at", "Keys live at most %d days here: choose a date no later than %s.", int(max/(24*time.Hour)), last.Format(time.DateOnly))
	}
	end := d.Add(24*time.Hour - time.Second)
	if limit := now.Add(max); end.After(limit) {
		end = limit
	}
	return end, nil
}
