package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/gate"
)

type newRuleRequest struct {
	CIDR   string `json:"cidr"`
	Action string `json:"action"`
	Note   string `json:"note"`
}

// addNetworkRule validates and stores a rule, then applies it here at once.
func (s *Server) addNetworkRule(r *http.Request, p *gatehouse.Principal, req newRuleRequest) (*gatehouse.NetworkRule, error) {
	prefix, err := gate.ParsePrefix(req.CIDR)
	if err != nil {
		return nil, err
	}
	if req.Action == "" {
		req.Action = gatehouse.RuleRequireRegistration
	}
	if req.Action != gatehouse.RuleRequireRegistration {
		return nil, gatehouse.FieldErrorf("action", "The only action is %q.", gatehouse.RuleRequireRegistration)
	}
	if len(req.Note) > 200 {
		return nil, gatehouse.FieldErrorf("note", "Notes are at most 200 characters.")
	}
	rule := &gatehouse.NetworkRule{CIDR: prefix.String(), Action: req.Action, Note: strings.TrimSpace(req.Note), CreatedAt: s.now(), CreatedBy: p.User.Username}
	if err := s.store.CreateNetworkRule(r.Context(), rule); err != nil {
		return nil, err
	}
	if err := s.gate.reload(r.Context()); err != nil {
		return nil, err
	}
	s.audit(r.Context(), &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditNetworkRuleAdd,
		Target: "network:" + rule.CIDR, IP: s.clientAddr(r).String(), Success: true, Detail: rule.Note})
	return rule, nil
}

func (s *Server) deleteNetworkRule(r *http.Request, p *gatehouse.Principal, id int64) error {
	if err := s.store.DeleteNetworkRule(r.Context(), id); err != nil {
		return err
	}
	if err := s.gate.reload(r.Context()); err != nil {
		return err
	}
	s.audit(r.Context(), &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditNetworkRuleDel,
		Target: "network_rule:" + strconv.FormatInt(id, 10), IP: s.clientAddr(r).String(), Success: true})
	return nil
}

// gateRules is the registration gate as configured: the rules kept in
// the database, the networks gated by configuration (read-only), and the
// channels exempt from the gate.
type gateRules struct {
	// The fields are in the order the JSON API always sent them.
	Configured []string                 `json:"configured"`
	Exempt     []string                 `json:"exempt_channels"`
	Rules      []*gatehouse.NetworkRule `json:"rules"`
}

func (s *Server) gateRules(ctx context.Context) (*gateRules, error) {
	rules, err := s.store.ListNetworkRules(ctx)
	if err != nil {
		return nil, err
	}
	if rules == nil {
		rules = []*gatehouse.NetworkRule{}
	}
	static := make([]string, len(s.cfg.RequireRegistration))
	for i, p := range s.cfg.RequireRegistration {
		static[i] = p.String()
	}
	return &gateRules{Rules: rules, Configured: static, Exempt: []string{s.cfg.ToolsChannel}}, nil
}

func (s *Server) handleListRules(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	g, err := s.gateRules(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (s *Server) handleAddRule(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req newRuleRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	rule, err := s.addNetworkRule(r, p, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, rule)
	return nil
}

func (s *Server) handleDeleteRule(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "No such network rule.")
	}
	if err := s.deleteNetworkRule(r, p, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleListClients(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	limit := 500
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10_000 {
			return gatehouse.FieldErrorf("limit", "limit must be between 1 and 10000.")
		}
		limit = n
	}
	clients, err := s.store.ListClients(r.Context(), limit)
	if err != nil {
		return err
	}
	if clients == nil {
		clients = []*gatehouse.Client{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"clients": clients})
	return nil
}
