package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

// Administration pages of the registration gate: the networks whose conda
// clients must register, how to roll registration out to an organization's
// machines, and the registered clients seen on channels.

type networksPage struct {
	*gateRules
	Form       networkForm
	FormErr    string
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
	Clients []*gatehouse.Client
	Limit   int
}

// clientsPageSize bounds the clients page; the API pages further.
const clientsPageSize = 500

func (s *Server) handleNetworksPage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	np := &networksPage{}
	if id, err := strconv.ParseInt(r.URL.Query().Get("remove"), 10, 64); err == nil {
		np.RemoveID = id
	}
	return s.renderNetworks(w, r, c, http.StatusOK, np, &page{})
}

func (s *Server) handleAddNetworkPage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	f := networkForm{CIDR: strings.TrimSpace(r.PostFormValue("cidr")), Note: strings.TrimSpace(r.PostFormValue("note"))}
	rule, err := s.addNetworkRule(r, c.principal(), newRuleRequest{CIDR: f.CIDR, Note: f.Note})
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		// The gate package's message says what is wrong with the network
		// and how to write it (checklist C6); nothing was stored.
		np := &networksPage{Form: f, FormErr: gatehouse.ErrorMessage(err), ReplaceURL: "/admin/networks"}
		return s.renderNetworks(w, r, c, statusOf[gatehouse.ErrorCode(err)], np, &page{})
	}
	flash := "Clients in " + rule.CIDR + " must now register before they use channels. The rule applies on this server at once, on others within seconds."
	return s.renderNetworks(w, r, c, http.StatusOK, &networksPage{ReplaceURL: "/admin/networks"}, &page{Flash: flash})
}

func (s *Server) handleRemoveNetworkPage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	np := &networksPage{ReplaceURL: "/admin/networks"}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		err = gatehouse.Errorf(gatehouse.ENOTFOUND, "No such network rule.")
	}
	if err == nil {
		err = s.deleteNetworkRule(r, c.principal(), id)
	}
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		return s.renderNetworks(w, r, c, statusOf[gatehouse.ErrorCode(err)], np, &page{Error: gatehouse.ErrorMessage(err)})
	}
	return s.renderNetworks(w, r, c, http.StatusOK, np, &page{Flash: "The network rule was removed."})
}

func (s *Server) renderNetworks(w http.ResponseWriter, r *http.Request, c *webCtx, status int, np *networksPage, p *page) error {
	g, err := s.gateRules(r.Context())
	if err != nil {
		return err
	}
	np.gateRules = g
	np.Rollout = rollout{
		ToolsURL:    s.absURL("/repo/" + s.cfg.ToolsChannel),
		LoginAt:     s.loginAt(),
		RegisterURL: s.absURL("/register"),
		ChannelURL:  s.absURL("/repo/CHANNEL"),
	}
	p.Title, p.Tab, p.User, p.CSRF, p.Content = "Networks", "admin", c.User, c.CSRF, np
	s.render(w, r, status, "admin_networks", p)
	return nil
}

func (s *Server) handleClientsPage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	clients, err := s.store.ListClients(r.Context(), clientsPageSize)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "admin_clients", &page{Title: "Clients", Tab: "admin", User: c.User, CSRF: c.CSRF,
		Content: &clientsPage{Clients: clients, Limit: clientsPageSize}})
	return nil
}
