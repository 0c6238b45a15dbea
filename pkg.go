package gatehouse

import "time"

// Package is one conda package file in a channel. Record is its canonical
// repodata record (index.json plus md5, sha256, size), computed once at
// upload; repodata is those records concatenated, never re-encoded.
type Package struct {
	ID        int64  `json:"id"`
	ChannelID int64  `json:"-"`
	Subdir    string `json:"subdir"`
	Filename  string `json:"filename"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	Build     string `json:"build"`
	Size      int64  `json:"size"`
	MD5       string `json:"md5"`
	SHA256    string `json:"sha256"`
	Record    []byte `json:"-"`
	// Meta holds what channeldata.json reports beyond the record (about,
	// post-install flags, run_exports), as JSON, computed at upload.
	Meta      []byte    `json:"-"`
	BlobKey   string    `json:"-"`
	Uploader  int64     `json:"-"`
	CreatedAt time.Time `json:"uploaded_at"`
}

// NetworkRule marks a network whose clients must register (present a key)
// before they may use channels.
type NetworkRule struct {
	ID        int64     `json:"id"`
	CIDR      string    `json:"cidr"`
	Action    string    `json:"action"`
	Note      string    `json:"note,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// RuleRequireRegistration is the one action a network rule has today.
const RuleRequireRegistration = "require-registration"

// Client is a registered conda client as seen on channel requests: one
// record per key or registration token and client: the anaconda-anon-usage
// client token (c/) when the User-Agent has one, else the address and user
// agent. Org, Token, ClientToken, Machine, CondaVersion and Platform come
// from an organization registration and the User-Agent; Network is the
// gated network the request came from ("" if none). Pending marks a key
// registered for conda that has not fetched yet (LastSeen zero).
type Client struct {
	ID           int64     `json:"id"`
	KeyID        int64     `json:"key_id"`
	KeyName      string    `json:"key_name"`
	UserID       int64     `json:"user_id"`
	Username     string    `json:"username"`
	OrgID        int64     `json:"org_id,omitempty"`
	Org          string    `json:"org,omitempty"`
	TokenID      int64     `json:"token_id,omitempty"`
	ClientToken  string    `json:"client,omitempty"`
	Machine      string    `json:"machine,omitempty"`
	CondaVersion string    `json:"conda_version,omitempty"`
	Platform     string    `json:"platform,omitempty"`
	Network      string    `json:"network,omitempty"`
	IP           string    `json:"ip"`
	UserAgent    string    `json:"user_agent"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
	Requests     int64     `json:"requests"`
	Pending      bool      `json:"pending,omitempty"`
}
