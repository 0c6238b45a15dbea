package web

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/gate"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

// Administration pages of the registration gate: the networks whose conda
// clients must register, how to roll registration out to an organization's
// machines, and the registered clients seen on channels.

type networksPage struct {
	*gatehouse.GateRules
	Form    networkForm
	FormErr string
	// Covers is the caller's own address when the network in the form
	// covers it: the rule would gate the administrator's own machine, so
	// the form asks again before adding it.
	Covers     string
	RemoveID   int64 // ?remove=ID opens that rule's confirmation
	ReplaceURL string
	Rollout    rollout
}

// networkForm is the add form, kept after an error.
type networkForm struct {
	CIDR, Note string
}

// rollout is what an administrator hands to every machine: the commands of
// the registration page, for this server.
type rollout struct {
	ToolsURL    string
	LoginAt     string
	RegisterURL string
	// ChannelURL is an example channel's URL, for the Dockerfile.
	ChannelURL string
}

type clientsPage struct {
	Filter  gatehouse.ClientFilter
	Clients []*gatehouse.Client
	Limit   int
}

// maxRuleNote is the service's bound on a network rule's note.
const maxRuleNote = 200

// clientsPageSize bounds the clients page; the API pages further.
const clientsPageSize = 500

func (s *Pages) handleNetworksPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	np := &networksPage{}
	if id, err := strconv.ParseInt(r.URL.Query().Get("remove"), 10, 64); err == nil {
		np.RemoveID = id
	}
	return s.renderNetworks(w, r, c, http.StatusOK, np, &Data{})
}

func (s *Pages) handleAddNetworkPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	f := networkForm{CIDR: strings.TrimSpace(r.PostFormValue("cidr")), Note: strings.TrimSpace(r.PostFormValue("note"))}
	// The caller's address is read the way the gate reads it (trusted
	// proxies' X-Forwarded-For), so the warning matches what the gate
	// will do to this very browser's conda.
	// A form the service would refuse anyway (a note over its limit) is
	// refused first, so the warning never asks to confirm a failure.
	if p, perr := gate.ParsePrefix(f.CIDR); perr == nil && c.Addr.IsValid() && len(f.Note) <= maxRuleNote &&
		gate.NewSet([]netip.Prefix{p}).Contains(c.Addr) && r.PostFormValue("confirm_own_network") != "yes" {
		np := &networksPage{Form: f, Covers: c.Addr.Unmap().String(), ReplaceURL: "/admin/networks"}
		return s.renderNetworks(w, r, c, http.StatusOK, np, &Data{})
	}
	rule, err := s.cfg.Gate.AddRule(r.Context(), c.Principal(), gatehouse.NetworkRuleRequest{CIDR: f.CIDR, Note: f.Note})
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		// The gate package's message says what is wrong with the network
		// and how to write it (checklist C6); nothing was stored.
		np := &networksPage{Form: f, FormErr: gatehouse.ErrorMessage(err), ReplaceURL: "/admin/networks"}
		return s.renderNetworks(w, r, c, reply.Status(err), np, &Data{})
	}
	flash := "Clients in " + rule.CIDR + " must now register before they use channels. The rule applies on this server at once, on others within seconds."
	return s.renderNetworks(w, r, c, http.StatusOK, &networksPage{ReplaceURL: "/admin/networks"}, &Data{Flash: flash})
}

func (s *Pages) handleRemoveNetworkPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	np := &networksPage{ReplaceURL: "/admin/networks"}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		err = gatehouse.Errorf(gatehouse.ENOTFOUND, "No such network rule.")
	}
	if err == nil {
		err = s.cfg.Gate.DeleteRule(r.Context(), c.Principal(), id)
	}
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		return s.renderNetworks(w, r, c, reply.Status(err), np, &Data{Error: gatehouse.ErrorMessage(err)})
	}
	return s.renderNetworks(w, r, c, http.StatusOK, np, &Data{Flash: "The network rule was removed."})
}

func (s *Pages) renderNetworks(w http.ResponseWriter, r *http.Request, c *Ctx, status int, np *networksPage, p *Data) error {
	g, err := s.cfg.Gate.Rules(r.Context(), c.Principal())
	if err != nil {
		return err
	}
	np.GateRules = g
	np.Rollout = rollout{
		ToolsURL:    s.AbsURL("/repo/" + s.cfg.Gate.ToolsChannel()),
		LoginAt:     s.LoginAt(),
		RegisterURL: s.AbsURL("/register"),
		ChannelURL:  s.AbsURL("/repo/CHANNEL"),
	}
	p.Title, p.Tab, p.User, p.CSRF, p.Content = "Networks", "admin", c.User, c.CSRF, np
	s.Render(w, r, status, "admin_networks", p)
	return nil
}

func (s *Pages) handleClientsPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	q := r.URL.Query()
	f := gatehouse.ClientFilter{Username: strings.TrimSpace(q.Get("user")), Network: strings.TrimSpace(q.Get("network")),
		Org: strings.TrimSpace(q.Get("org")), Limit: clientsPageSize}
	clients, err := s.cfg.Gate.Clients(r.Context(), c.Principal(), f)
	if err != nil {
		return err
	}
	d := &Data{Title: "Clients", Tab: "admin", User: c.User, CSRF: c.CSRF,
		Content: &clientsPage{Clients: clients, Limit: clientsPageSize, Filter: f}}
	if k := q.Get("revoked"); k != "" {
		d.Flash = "Key " + k + " revoked: its clients are refused from now on."
	}
	s.Render(w, r, http.StatusOK, "admin_clients", d)
	return nil
}
