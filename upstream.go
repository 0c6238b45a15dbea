package gatehouse

import (
	"context"
	"time"
)

// UpstreamMode says how a channel follows an upstream channel.
type UpstreamMode string

const (
	// UpstreamProxy: repodata is refreshed from upstream after a TTL and
	// package files are fetched on first request, verified, and kept.
	UpstreamProxy UpstreamMode = "proxy"
	// UpstreamMirror: a scheduled or requested sync copies the repodata
	// and every package file the filters admit.
	UpstreamMirror UpstreamMode = "mirror"
)

// ParseUpstreamMode validates a mode name.
func ParseUpstreamMode(s string) (UpstreamMode, error) {
	switch m := UpstreamMode(s); m {
	case UpstreamProxy, UpstreamMirror:
		return m, nil
	}
	return "", FieldErrorf("upstream.mode", "The upstream mode must be \"proxy\" or \"mirror\".")
}

// Filters decide which upstream packages a proxy or mirror channel
// carries. A filtered package is absent from the channel's repodata and
// shards, and a request for its file is refused naming the policy. Empty
// fields admit everything.
type Filters struct {
	// Include and Exclude are package name globs (path.Match syntax,
	// "*" and "?" and classes): a name must match an Include (when any
	// are given) and no Exclude.
	Include []string `json:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
	// Subdirs limits the subdirs followed; empty follows noarch and the
	// subdirs the upstream lists in channeldata.json.
	Subdirs []string `json:"subdirs,omitempty"`
	// Licenses admits only records whose license field, read as an SPDX
	// expression, is satisfied by these identifiers (case-insensitive;
	// "MIT OR GPL-3.0" needs one of them, "MIT AND BSD-3-Clause" both).
	Licenses []string `json:"licenses,omitempty"`
	// MinAgeDays holds back records published (timestamp) less than this
	// many days ago.
	MinAgeDays int `json:"min_age_days,omitempty"`
	// Versions maps a package name to a version constraint in conda's
	// match-spec syntax (">=1.2,<2", "1.4.*", "==3.1|>=4"); other
	// versions of that name are filtered out.
	Versions map[string]string `json:"versions,omitempty"`
}

// UpstreamStatus is the state of an upstream channel's last refresh
// (proxy) or sync (mirror), as the API and the channel page show it.
type UpstreamStatus struct {
	// State is "new" (never refreshed), "syncing", "ok" or "failed".
	State string `json:"state"`
	// RefreshedAt is when the last refresh or sync finished well.
	RefreshedAt time.Time `json:"refreshed_at,omitzero"`
	// AttemptedAt is when the last one started.
	AttemptedAt time.Time `json:"attempted_at,omitzero"`
	// Error says why the last one failed, for people.
	Error string `json:"error,omitempty"`
	// Progress of a sync in progress (or the last one).
	Progress SyncProgress `json:"progress"`
	// Validators are each subdir's ETag and Last-Modified of upstream's
	// repodata, for conditional requests.
	Validators map[string]Validator `json:"validators,omitempty"`
}

// SyncProgress counts a sync's work.
type SyncProgress struct {
	Subdir      string `json:"subdir,omitempty"`
	Records     int64  `json:"records"`      // upstream records read
	Admitted    int64  `json:"admitted"`     // of those, admitted by the filters
	Added       int64  `json:"added"`        // made visible
	Removed     int64  `json:"removed"`      // gone upstream, removed here
	Files       int64  `json:"files"`        // package files copied (mirror)
	FilesTotal  int64  `json:"files_total"`  // package files to copy in this sync
	FilesFailed int64  `json:"files_failed"` // copies that failed (retried next sync)
}

// Validator is what a conditional request to upstream sends back.
type Validator struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// Upstream is a proxy or mirror channel's upstream.
type Upstream struct {
	ChannelID int64        `json:"-"`
	URL       string       `json:"url"`
	Mode      UpstreamMode `json:"mode"`
	Filters   Filters      `json:"filters"`
	// Credential is the sealed token for a private upstream; it never
	// leaves the service in clear and is never shown back.
	Credential    []byte         `json:"-"`
	HasCredential bool           `json:"has_credential"`
	Status        UpstreamStatus `json:"status"`
}

// UpstreamRequest configures a channel's upstream at creation.
type UpstreamRequest struct {
	URL     string
	Mode    string
	Filters Filters
	// Token is the credential for a private upstream (sent as
	// Authorization: Bearer); stored sealed, never shown back.
	Token string
}

// PackageChange is one row of a channel's change log: revision changed
// the records of name in subdir.
type PackageChange struct {
	Revision int64
	Subdir   string
	Name     string
	At       time.Time
}

// PackageRef names one package file of a channel.
type PackageRef struct {
	Subdir, Filename string
}

// HeldRecord is an upstream record that a channel's filters keep out for
// a reason its file name alone does not tell: its licence, or a release
// newer than the minimum age. Only the verdict is kept, so that a direct
// request for its file is refused naming the rule.
type HeldRecord struct {
	Subdir, Filename string
	// Rule is "licenses" or "min_age_days"; Reason says why, for people.
	Rule, Reason string
	// Until is when a record held for its age is old enough to be
	// admitted (zero for other rules).
	Until time.Time
}

// UpstreamStore keeps upstreams and applies their changes in bulk.
type UpstreamStore interface {
	// PutUpstream creates or replaces the channel's upstream.
	PutUpstream(ctx context.Context, u *Upstream) error
	// UpstreamOf returns the channel's upstream, ENOTFOUND if it has none.
	UpstreamOf(ctx context.Context, channelID int64) (*Upstream, error)
	// ListUpstreams returns every upstream, by channel ID.
	ListUpstreams(ctx context.Context) ([]*Upstream, error)
	// SetUpstreamStatus saves the status of the channel's upstream.
	SetUpstreamStatus(ctx context.Context, channelID int64, s UpstreamStatus) error
	// ApplyPackages adds (replacing a file of the same name) and removes
	// packages of one channel in one transaction and one revision, with
	// their change-log rows, and returns the rows it removed or replaced
	// (their blobs are the caller's). A remove of a file that is not
	// there is skipped. Nothing is visible until it commits.
	ApplyPackages(ctx context.Context, channelID int64, add []*Package, remove []PackageRef) (gone []*Package, err error)
	// EachHeld calls fn for the channel's held records in subdir, by file
	// name; fn's error stops the walk and is returned.
	EachHeld(ctx context.Context, channelID int64, subdir string, fn func(HeldRecord) error) error
	// HeldRecordOf returns one held record; ENOTFOUND if the file is not
	// held.
	HeldRecordOf(ctx context.Context, channelID int64, subdir, filename string) (*HeldRecord, error)
	// ApplyHeld adds or replaces held records and drops others (a drop of
	// a file that is not held is skipped), in one transaction.
	ApplyHeld(ctx context.Context, channelID int64, put []HeldRecord, drop []PackageRef) error
}

// IndexStore is what the index engine reads: the change log and packages
// streamed in index order.
type IndexStore interface {
	// PackageChanges returns the change-log rows of the channel after
	// revision, in revision order, at most limit (more is false when
	// there were no more).
	PackageChanges(ctx context.Context, channelID, after int64, limit int) (changes []PackageChange, more bool, err error)
	// EachPackage calls fn for the channel's packages in subdir, ordered
	// by name then filename, only those of the given name unless name is
	// "". The *Package is reused between calls: copy what you keep.
	// fn's error stops the walk and is returned.
	EachPackage(ctx context.Context, channelID int64, subdir, name string, fn func(*Package) error) error
	// ChannelRevision returns the channel's current revision.
	ChannelRevision(ctx context.Context, channelID int64) (int64, error)
}
