package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/catalog"
	"github.com/gatehouse-dev/gatehouse/condaname"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

// Channel pages: the channels a user can see, creating one, and a
// channel's index page (its conda URL, packages, and for its
// administrators visibility and grants). The rules live in the service
// functions the JSON API calls too; these handlers only read forms.

type channelsPage struct {
	// Channels are all the channels the user sees; Owned those that are
	// theirs or their organizations', Shared the others (granted to them,
	// or public).
	Channels      []channelRow
	Owned, Shared []channelRow
	// Owners are the create form's choices: the user, then the
	// organizations they own or administer.
	Owners     []string
	Form       channelForm
	FormErr    string
	ReplaceURL string
	// CanUpstream: only administrators create proxy and mirror channels
	// (the service refuses anyone else), so only they see those fields.
	CanUpstream bool
}

type channelRow struct {
	*gatehouse.Channel
	Role string
	// OrgOwned: owned by an organization the user is in.
	OrgOwned bool
	// Subdirs are the platforms that hold packages: one light query per
	// channel, where a package count would read every record.
	Subdirs []string
}

// channelForm is the create form, kept after an error.
type channelForm struct {
	Name, Visibility, Owner string
	Upstream                upstreamForm
}

type channelPage struct {
	Channel  *gatehouse.Channel
	Role     gatehouse.ChannelRole
	CanWrite bool
	CanAdmin bool
	// OwnerIsOrg: the channel belongs to an organization, whose owners
	// and admins administer it and whose members read it.
	OwnerIsOrg bool
	Conda      condaHowTo
	// Packages is the page of package names the search selects; each
	// opens the package's own page with its files.
	Packages *catalog.Page
	// PrevOffset and NextOffset page the names; -1 when there is none.
	PrevOffset, NextOffset int
	// From and To number the names shown, from 1.
	From, To int
	// Upstream is a proxy or mirror channel's upstream, nil when hosted.
	Upstream *upstreamView
	// Members are the explicit grants, for the channel's administrators.
	Members   []*gatehouse.ChannelGrant
	Roles     []string
	GrantUser string
	// GrantErr is a refused grant, shown at the grant form.
	GrantErr   string
	GrantRole  string
	RemoveUser string // ?remove=USER opens that grant's confirmation
	// ConfirmVisibility opens the visibility confirmation (?visibility).
	ConfirmVisibility bool
	ReplaceURL        string
}

// condaHowTo is what a person types to use the channel. It never holds a
// key: private channels show a placeholder and the commands that put the
// person's own key in place.
type condaHowTo struct {
	URL        string // http(s)://host/repo/<channel>
	KeyURL     string // the same with /t/<your-key>/, a placeholder
	LoginAt    string // the argument of gatehouse login --at
	Example    string // a package name for the install command
	Gated      bool   // some networks must register first
	RegisterAt string
}

var channelRoles = []string{"read", "write", "admin"}

func (s *Pages) handleChannelsPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	cp := &channelsPage{Form: channelForm{Visibility: string(gatehouse.Private), Owner: c.User.Username}}
	return s.renderChannels(w, r, c, http.StatusOK, cp, &Data{})
}

func (s *Pages) handleCreateChannelPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	f := channelForm{
		Name:       strings.TrimSpace(r.PostFormValue("name")),
		Visibility: r.PostFormValue("visibility"),
		Owner:      strings.TrimSpace(r.PostFormValue("owner")),
		Upstream:   readUpstreamForm(r),
	}
	upReq, err := f.Upstream.request(r.PostFormValue("upstream_token"))
	if err == nil && f.Visibility == "" {
		// The API defaults to public; a form left without a choice must
		// not publish anything.
		err = gatehouse.FieldErrorf("visibility", "Choose whether the channel is public or private.")
	}
	var ch *gatehouse.Channel
	if err == nil {
		ch, err = s.cfg.Channels.CreateChannel(r.Context(), c.Principal(),
			gatehouse.ChannelRequest{Name: f.Name, Visibility: gatehouse.Visibility(f.Visibility), Owner: f.Owner, Upstream: upReq})
	}
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		cp := &channelsPage{Form: f, FormErr: gatehouse.ErrorMessage(err), ReplaceURL: "/channels"}
		return s.renderChannels(w, r, c, reply.Status(err), cp, &Data{})
	}
	flash := "Channel " + ch.Name + " created. It is " + string(ch.Visibility) + "; upload packages with gatehouse upload FILE --channel " + ch.Name + "."
	if upReq != nil {
		flash = "Channel " + ch.Name + " created. It is " + string(ch.Visibility) + " and a " + upReq.Mode + " of its upstream; its first sync has started."
	}
	return s.renderChannel(w, r, c, ch.Name, http.StatusOK, &channelPage{}, &Data{Flash: flash})
}

func (s *Pages) renderChannels(w http.ResponseWriter, r *http.Request, c *Ctx, status int, cp *channelsPage, p *Data) error {
	views, err := s.cfg.Channels.Channels(r.Context(), c.Principal())
	if err != nil {
		return err
	}
	ms, err := s.cfg.Orgs.Memberships(r.Context(), c.Principal())
	if err != nil {
		return err
	}
	mine := map[string]bool{}
	for _, m := range ms {
		mine[m.OrgName] = true
	}
	cp.Channels = make([]channelRow, len(views))
	for i, v := range views {
		row := channelRow{Channel: v.Channel, Role: v.Role.String(), Subdirs: v.Subdirs}
		row.OrgOwned = v.Channel.OwnerOrgID != 0 && mine[v.Channel.Owner]
		cp.Channels[i] = row
		if v.Channel.OwnerUserID == c.User.ID || row.OrgOwned {
			cp.Owned = append(cp.Owned, row)
		} else {
			cp.Shared = append(cp.Shared, row)
		}
	}
	cp.CanUpstream = c.User.IsAdmin
	cp.Owners = []string{c.User.Username}
	for _, m := range ms {
		if m.Role.CanManageMembers() {
			cp.Owners = append(cp.Owners, m.OrgName)
		}
	}
	p.Title, p.Tab, p.User, p.CSRF, p.Content = "Channels", "channels", c.User, c.CSRF, cp
	s.Render(w, r, status, "channels", p)
	return nil
}

func (s *Pages) handleChannelPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	q := r.URL.Query()
	cp := &channelPage{RemoveUser: q.Get("remove"), ConfirmVisibility: q.Has("visibility")}
	return s.renderChannel(w, r, c, r.PathValue("channel"), http.StatusOK, cp, &Data{})
}

func (s *Pages) handleChannelVisibilityPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	name := r.PathValue("channel")
	vis, err := gatehouse.ParseVisibility(r.PostFormValue("visibility"))
	var ch *gatehouse.Channel
	if err == nil {
		ch, err = s.cfg.Channels.SetVisibility(r.Context(), c.Principal(), name, vis)
	}
	if err != nil {
		return s.channelActionFailed(w, r, c, name, &channelPage{}, err)
	}
	flash := "Channel " + ch.Name + " is now public: anyone who can reach this server can install from it, without a key."
	if vis == gatehouse.Private {
		flash = "Channel " + ch.Name + " is now private: only its members can use it, with a key that has the Platform channels scope."
	}
	return s.renderChannel(w, r, c, name, http.StatusOK, &channelPage{}, &Data{Flash: flash})
}

// handleGrantPage gives a user a role on the channel, by username; the
// member rows' role selects post here too.
func (s *Pages) handleGrantPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	name := r.PathValue("channel")
	username := strings.ToLower(strings.TrimSpace(r.PostFormValue("username")))
	if v := r.PathValue("user"); v != "" {
		username = v
	}
	cp := &channelPage{GrantUser: username, GrantRole: r.PostFormValue("role")}
	role, err := gatehouse.ParseChannelRole(r.PostFormValue("role"))
	if err == nil && username == "" {
		err = gatehouse.FieldErrorf("username", "Type the username of the person to give access to.")
	}
	if err == nil {
		err = s.cfg.Channels.Grant(r.Context(), c.Principal(), name, username, role)
	}
	if err != nil && r.PathValue("user") == "" && gatehouse.ErrorCode(err) != gatehouse.EINTERNAL {
		// Shown at the form, where the person typed the name, not at the
		// head of a long page.
		cp.GrantErr = gatehouse.ErrorMessage(err)
		return s.renderChannel(w, r, c, name, reply.Status(err), cp, &Data{})
	}
	if err != nil {
		return s.channelActionFailed(w, r, c, name, cp, err)
	}
	return s.renderChannel(w, r, c, name, http.StatusOK, &channelPage{},
		&Data{Flash: username + " now has " + role.String() + " access to " + name + "."})
}

func (s *Pages) handleRevokeGrantPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	name, username := r.PathValue("channel"), r.PathValue("user")
	if err := s.cfg.Channels.RevokeGrant(r.Context(), c.Principal(), name, username); err != nil {
		return s.channelActionFailed(w, r, c, name, &channelPage{}, err)
	}
	flash := username + "'s access to " + name + " was removed. Their API keys stop working for it at once, unless they have access through the owning organization."
	if username == c.User.Username {
		if _, _, err := s.cfg.Channels.Channel(r.Context(), c.Principal(), name, gatehouse.NoAccess); err != nil {
			// They removed themself from a private channel: its page is
			// no longer theirs to see.
			return s.renderChannels(w, r, c, http.StatusOK, &channelsPage{ReplaceURL: "/channels",
				Form: channelForm{Visibility: string(gatehouse.Private), Owner: c.User.Username}}, &Data{Flash: flash})
		}
	}
	return s.renderChannel(w, r, c, name, http.StatusOK, &channelPage{}, &Data{Flash: flash})
}

func (s *Pages) handleDeletePackagePage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	name := r.PathValue("channel")
	pkg, err := s.cfg.Packages.Delete(r.Context(), c.Principal(), name, r.PathValue("subdir"), r.PathValue("filename"))
	if err != nil {
		return s.channelActionFailed(w, r, c, name, &channelPage{}, err)
	}
	return s.renderChannel(w, r, c, name, http.StatusOK, &channelPage{},
		&Data{Flash: pkg.Subdir + "/" + pkg.Filename + " was deleted. conda no longer sees it in " + name + "."})
}

// channelActionFailed shows the channel's page again with the error; if
// the caller may not see the channel at all, the error page says only
// "not found", whatever the action was.
func (s *Pages) channelActionFailed(w http.ResponseWriter, r *http.Request, c *Ctx, name string, cp *channelPage, err error) error {
	if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
		return err
	}
	return s.renderChannel(w, r, c, name, reply.Status(err), cp, &Data{Error: gatehouse.ErrorMessage(err)})
}

// renderChannel shows a channel to those who may see it: anyone for a
// public channel, its readers for a private one. Everyone else gets "not
// found", as from the API.
func (s *Pages) renderChannel(w http.ResponseWriter, r *http.Request, c *Ctx, name string, status int, cp *channelPage, p *Data) error {
	ch, role, err := s.cfg.Channels.Channel(r.Context(), c.Principal(), name, gatehouse.NoAccess)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("offset"))
	query := catalog.Query{Text: q.Get("q"), Subdir: q.Get("subdir"), Offset: offset}
	if !condaname.ValidSubdir(query.Subdir) {
		query.Subdir = ""
	}
	_, _, page, err := s.cfg.Browse.Search(r.Context(), c.Principal(), name, query)
	if err != nil {
		return err
	}
	cp.Channel, cp.Role, cp.Packages = ch, role, page
	cp.PrevOffset, cp.NextOffset = -1, -1
	cp.From, cp.To = page.Query.Offset+1, page.Query.Offset+len(page.Packages)
	if page.Query.Offset > 0 {
		cp.PrevOffset = max(page.Query.Offset-page.Query.Limit, 0)
	}
	if page.Query.Offset+len(page.Packages) < page.Names {
		cp.NextOffset = page.Query.Offset + len(page.Packages)
	}
	cp.CanWrite, cp.CanAdmin = role >= gatehouse.ChannelWrite, role >= gatehouse.ChannelAdmin
	cp.OwnerIsOrg = ch.OwnerOrgID != 0
	cp.ReplaceURL = "/channels/" + ch.Name
	cp.Conda = condaHowTo{
		URL:        s.AbsURL("/repo/" + ch.Name),
		KeyURL:     s.AbsURL("/repo/t/") + "<your-key>/" + ch.Name,
		LoginAt:    s.LoginAt(),
		Example:    "PACKAGE",
		Gated:      s.cfg.Gate.Active() && ch.Name != s.cfg.Gate.ToolsChannel(),
		RegisterAt: s.AbsURL("/register"),
	}
	if len(page.Packages) > 0 {
		cp.Conda.Example = page.Packages[0].Name
	}
	cp.Upstream = newUpstreamView(s.cfg.Channels.Upstream(ch))
	if cp.CanAdmin {
		_, grants, err := s.cfg.Channels.Grants(r.Context(), c.Principal(), ch.Name)
		if err != nil {
			return err
		}
		cp.Members, cp.Roles = grants, channelRoles
		if cp.GrantRole == "" {
			cp.GrantRole = "read"
		}
	}
	p.Title, p.Tab, p.User, p.CSRF, p.Content = ch.Name, "channels", c.User, c.CSRF, cp
	s.Render(w, r, status, "channel", p)
	return nil
}

// LoginAt is what follows gatehouse login --at for this server: the host
// where the CLI's default (https, or http for loopback) reaches it, the
// full URL otherwise.
func (s *Pages) LoginAt() string {
	u := s.cfg.PublicURL
	path := strings.TrimRight(u.Path, "/")
	host := u.Hostname()
	loopback := host == "localhost" || host == "127.0.0.1" || host == "::1"
	if path == "" && (u.Scheme == "https" || (u.Scheme == "http" && loopback)) {
		return u.Host
	}
	return u.Scheme + "://" + u.Host + path
}

// ByteSize writes n bytes the way a person reads them: 930 B, 12.4 KiB.
func ByteSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, unit := float64(n)/1024, "KiB"
	for _, next := range []string{"MiB", "GiB", "TiB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, next
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// ShortSHA is the first 12 hex digits of a SHA-256, enough to tell
// files apart at a glance; pages put the full one in a title attribute.
func ShortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
