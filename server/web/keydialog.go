package web

import "time"

// KeyDialog is what the create-key dialog (templates/partials/key_dialog.html)
// shows, on Account Settings → API Keys and on an organization's Service
// keys: the form as the person left it, its bounds and errors, the key
// just created, and the words and ids that tell the two pages apart.
type KeyDialog struct {
	// IDPrefix keeps the pages' element ids apart: "" or "org-".
	IDPrefix string
	// Action is where the form posts, and where Cancel and Close go.
	Action string
	// Title heads the dialog and Submit labels its button; Noun names the
	// key when it is shown ("API key"); Lifetime opens the sentence that
	// says how long keys may live; RestrictHelp says what ticking no
	// channel means.
	Title, Submit, Noun, Lifetime, RestrictHelp string

	Form KeyForm
	// FormOpen opens the dialog on load (after an error, or ?create);
	// Errs are its errors, at their fields ("" at the head of the form).
	FormOpen bool
	Errs     FieldErrors
	// Created is set only in the answer to a successful creation: the one
	// and only time the key is in a page (checklist A3).
	Created *CreatedKey
	// MinDate and MaxDate bound the custom expiry date (YYYY-MM-DD, UTC).
	MinDate, MaxDate string
	Presets          []ExpiryOption
	// MaxDays is the longest lifetime the key policies allow;
	// PolicyNotes name the policies stricter than a year.
	MaxDays     int
	PolicyNotes []string
	// ChannelChoices are the channels a key can be limited to.
	ChannelChoices []ChannelChoice
}

// KeyForm is what the create dialog holds, kept across an error.
type KeyForm struct {
	Name                     string
	ScopeUser, ScopeChannels bool
	ScopeAdmin               bool
	Expiration               string // a preset's Value or "custom"
	CustomDate               string // YYYY-MM-DD
	// Channels limits the key; ReadOnly caps it at read.
	Channels []string
	ReadOnly bool
}

type ChannelChoice struct {
	Name     string
	Selected bool
}

type ExpiryOption struct {
	Value, Label string
	Selected     bool
}

type CreatedKey struct {
	Key       string
	Name      string
	Scopes    []string
	ExpiresAt time.Time
	Replaced  bool
}
