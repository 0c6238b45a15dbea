package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// Upstream channels on the pages: the channel page's upstream section
// (mode, URL, filters, state, last refresh or sync, a mirror's progress,
// and "Sync now" for the channel's administrators), and the create form's
// choice of a proxy or mirror with its filters. The rules are the
// service's; these only read forms and shape what the templates show.

// upstreamView is what the channel page shows of a channel's upstream.
// It never holds the credential: only whether one is stored.
type upstreamView struct {
	Mode, URL     string
	HasCredential bool
	Filters       []filterRow
	State         string
	RefreshedAt   time.Time
	AttemptedAt   time.Time
	Error         string
	Progress      gatehouse.SyncProgress
	// Percent of the files to copy that are done, for the progress bar.
	Percent int
}

type filterRow struct{ Name, Value string }

func newUpstreamView(u *gatehouse.Upstream) *upstreamView {
	if u == nil {
		return nil
	}
	v := &upstreamView{Mode: string(u.Mode), URL: u.URL, HasCredential: u.HasCredential, State: u.Status.State,
		RefreshedAt: u.Status.RefreshedAt, AttemptedAt: u.Status.AttemptedAt, Error: u.Status.Error, Progress: u.Status.Progress}
	if p := u.Status.Progress; p.FilesTotal > 0 {
		v.Percent = int(100 * (p.Files + p.FilesFailed) / p.FilesTotal)
	}
	f := u.Filters
	add := func(name string, vals []string) {
		if len(vals) > 0 {
			v.Filters = append(v.Filters, filterRow{name, strings.Join(vals, ", ")})
		}
	}
	add("Names included", f.Include)
	add("Names excluded", f.Exclude)
	add("Subdirs", f.Subdirs)
	add("Licences", f.Licenses)
	if f.MinAgeDays > 0 {
		v.Filters = append(v.Filters, filterRow{"Minimum age", strconv.Itoa(f.MinAgeDays) + " days"})
	}
	var vs []string
	for name, spec := range f.Versions {
		vs = append(vs, name+" "+spec)
	}
	slices.Sort(vs)
	add("Versions", vs)
	return v
}

// upstreamForm is the create form's upstream part, kept after an error
// (the token never is).
type upstreamForm struct {
	Kind, URL, Include, Exclude, Subdirs, Licenses, MinAgeDays, Versions string
}

func readUpstreamForm(r *http.Request) upstreamForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := upstreamForm{Kind: v("kind"), URL: v("upstream_url"), Include: v("include"), Exclude: v("exclude"),
		Subdirs: v("subdirs"), Licenses: v("licenses"), MinAgeDays: v("min_age_days"), Versions: v("versions")}
	if f.Kind == "" {
		f.Kind = "hosted"
	}
	return f
}

// request turns the form into the service's request; nil for a hosted
// channel.
func (f upstreamForm) request(token string) (*gatehouse.UpstreamRequest, error) {
	switch f.Kind {
	case "hosted":
		return nil, nil
	case "proxy", "mirror":
	default:
		return nil, gatehouse.FieldErrorf("kind", "Choose hosted, proxy or mirror.")
	}
	if f.URL == "" {
		return nil, gatehouse.FieldErrorf("upstream_url", "A proxy or mirror needs the URL of its upstream channel.")
	}
	req := &gatehouse.UpstreamRequest{URL: f.URL, Mode: f.Kind, Token: token, Filters: gatehouse.Filters{
		Include: list(f.Include), Exclude: list(f.Exclude), Subdirs: list(f.Subdirs), Licenses: list(f.Licenses)}}
	if f.MinAgeDays != "" {
		n, err := strconv.Atoi(f.MinAgeDays)
		if err != nil {
			return nil, gatehouse.FieldErrorf("min_age_days", "The minimum age is a number of days.")
		}
		req.Filters.MinAgeDays = n
	}
	for _, line := range strings.Split(f.Versions, "\n") {
		name, spec, _ := strings.Cut(strings.TrimSpace(line), " ")
		if name == "" {
			continue
		}
		if strings.TrimSpace(spec) == "" {
			return nil, gatehouse.FieldErrorf("versions", "Write each version rule as a package name, a space and a constraint, such as: numpy >=1.26,<3")
		}
		if req.Filters.Versions == nil {
			req.Filters.Versions = map[string]string{}
		}
		req.Filters.Versions[name] = strings.TrimSpace(spec)
	}
	return req, nil
}

// list splits a field of names on commas and white space.
func list(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

func (s *Pages) handleSyncChannelPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	name := r.PathValue("channel")
	ch, _, err := s.cfg.Channels.Sync(r.Context(), c.Principal(), name)
	if err != nil {
		return s.channelActionFailed(w, r, c, name, &channelPage{}, err)
	}
	return s.renderChannel(w, r, c, name, http.StatusOK, &channelPage{},
		&Data{Flash: "A sync of " + ch.Name + " started. This page shows its progress; reload it to follow."})
}
