package registration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/sqlstore/sqlkit"
)

// CreateNetworkRule inserts r and sets r.ID. The CIDR is stored as given:
// the gate package parses and validates it before. EINVALID for an empty
// CIDR, an unknown action, or text that is not UTF-8. A zero Action is
// RuleRequireRegistration, a zero CreatedAt now.
func (db *Queries) CreateNetworkRule(ctx context.Context, r *gatehouse.NetworkRule) error {
	action := r.Action
	if action == "" {
		action = gatehouse.RuleRequireRegistration
	}
	if action != gatehouse.RuleRequireRegistration {
		return gatehouse.FieldErrorf("action", "The only network rule action is %q.", gatehouse.RuleRequireRegistration)
	}
	if r.CIDR == "" {
		return gatehouse.FieldErrorf("cidr", "A network rule needs a network, such as 10.0.0.0/8.")
	}
	if err := sqlkit.RequireText("cidr", r.CIDR, "note", r.Note, "created_by", r.CreatedBy); err != nil {
		return err
	}
	created := r.CreatedAt
	if created.IsZero() {
		created = db.c.Now()
	}
	if err := sqlkit.CheckTimes(created); err != nil {
		return err
	}
	var id int64
	err := db.c.Q.QueryRowContext(ctx, `INSERT INTO network_rules (cidr, action, note, created_at, created_by)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		r.CIDR, action, r.Note, db.c.TV(created), r.CreatedBy).Scan(&id)
	if err != nil {
		return sqlkit.WrapErr(err, "create network rule")
	}
	r.ID, r.Action, r.CreatedAt = id, action, sqlkit.NormTime(created)
	return nil
}

// ListNetworkRules returns every rule, in the order they were created.
func (db *Queries) ListNetworkRules(ctx context.Context) ([]*gatehouse.NetworkRule, error) {
	rows, err := db.c.Q.QueryContext(ctx, `SELECT id, cidr, action, note, created_at, created_by FROM network_rules ORDER BY id`)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "list network rules")
	}
	defer rows.Close()
	var rules []*gatehouse.NetworkRule
	for rows.Next() {
		r := new(gatehouse.NetworkRule)
		if err := rows.Scan(&r.ID, &r.CIDR, &r.Action, &r.Note, (*sqlkit.Time)(&r.CreatedAt), &r.CreatedBy); err != nil {
			return nil, sqlkit.WrapErr(err, "list network rules")
		}
		rules = append(rules, r)
	}
	return rules, sqlkit.WrapErr(rows.Err(), "list network rules")
}

// DeleteNetworkRule removes the rule; ENOTFOUND if none.
func (db *Queries) DeleteNetworkRule(ctx context.Context, id int64) error {
	res, err := db.c.Q.ExecContext(ctx, `DELETE FROM network_rules WHERE id = $1`, id)
	return sqlkit.MustAffect(res, err, "delete network rule", "No such network rule.")
}

// maxClientName bounds the key, user and organization names and the
// client fields RecordClient keeps. With sqlkit.MaxSessionIP and sqlkit.MaxUserAgent it
// keeps the unique key of clients within PostgreSQL's index row limit
// whatever a client sends.
const maxClientName = 128

// Client page sizes.
const (
	defaultClientLimit = 100
	maxClientLimit     = 1000
)

// clientIdent is what makes a client one: its anaconda-anon-usage client
// token when it sent one (a new conda session is the same client), else
// its address and user agent.
func clientIdent(c *gatehouse.Client) string {
	if c.ClientToken != "" {
		return "c/" + c.ClientToken
	}
	return c.IP + " " + c.UserAgent
}

// RecordClient upserts the row of (c.KeyID, c.TokenID, ident) (see
// clientIdent) and sets c.ID: a new row takes c as it is; an existing one
// keeps its FirstSeen, moves LastSeen to c.LastSeen if that is later
// (replicas write out of order) and then also takes c's address, user
// agent, machine, conda version, platform and network; it adds
// c.Requests, and takes c's names (a renamed user shows under the new
// name). Text comes from outside, so it is cleaned and cut rather than
// refused (the user agent to 512 bytes); c is left with the text as
// stored, and with the times and count it gave. EINVALID for negative
// Requests. A zero LastSeen is now, a zero FirstSeen LastSeen.
func (db *Queries) RecordClient(ctx context.Context, c *gatehouse.Client) error {
	if c.Requests < 0 {
		return gatehouse.FieldErrorf("requests", "A request count cannot be negative.")
	}
	last := c.LastSeen
	if last.IsZero() {
		last = db.c.Now()
	}
	first := c.FirstSeen
	if first.IsZero() {
		first = last
	}
	if err := sqlkit.CheckTimes(first, last); err != nil {
		return err
	}
	for _, f := range []*string{&c.KeyName, &c.Username, &c.Org, &c.ClientToken, &c.Machine, &c.CondaVersion, &c.Platform, &c.Network} {
		*f = sqlkit.OutsideText(*f, maxClientName)
	}
	c.IP, c.UserAgent = sqlkit.OutsideText(c.IP, sqlkit.MaxSessionIP), sqlkit.OutsideText(c.UserAgent, sqlkit.MaxUserAgent)
	var id int64
	err := db.c.Q.QueryRowContext(ctx, `INSERT INTO clients
		(key_id, key_name, user_id, username, org_id, org_name, token_id, ident, client_token, machine, conda_version,
		 platform, network, ip, user_agent, first_seen, last_seen, requests)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		ON CONFLICT (key_id, token_id, ident) DO UPDATE SET
			key_name = excluded.key_name, user_id = excluded.user_id, username = excluded.username,
			org_id = excluded.org_id, org_name = excluded.org_name,
			ip = CASE WHEN excluded.last_seen >= clients.last_seen THEN excluded.ip ELSE clients.ip END,
			user_agent = CASE WHEN excluded.last_seen >= clients.last_seen THEN excluded.user_agent ELSE clients.user_agent END,
			machine = CASE WHEN excluded.last_seen >= clients.last_seen THEN excluded.machine ELSE clients.machine END,
			conda_version = CASE WHEN excluded.last_seen >= clients.last_seen THEN excluded.conda_version ELSE clients.conda_version END,
			platform = CASE WHEN excluded.last_seen >= clients.last_seen THEN excluded.platform ELSE clients.platform END,
			network = CASE WHEN excluded.last_seen >= clients.last_seen THEN excluded.network ELSE clients.network END,
			last_seen = CASE WHEN excluded.last_seen > clients.last_seen THEN excluded.last_seen ELSE clients.last_seen END,
			requests = clients.requests + excluded.requests
		RETURNING id`,
		c.KeyID, c.KeyName, c.UserID, c.Username, c.OrgID, c.Org, c.TokenID, clientIdent(c), c.ClientToken, c.Machine,
		c.CondaVersion, c.Platform, c.Network, c.IP, c.UserAgent, db.c.TV(first), db.c.TV(last), c.Requests).Scan(&id)
	if err != nil {
		return sqlkit.WrapErr(err, "record client")
	}
	c.ID, c.FirstSeen, c.LastSeen = id, sqlkit.NormTime(first), sqlkit.NormTime(last)
	return nil
}

// clientWhere is the WHERE clause of f, its arguments numbered from $1.
func clientWhere(f gatehouse.ClientFilter) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1))
	}
	if f.OrgID != 0 {
		add("org_id = ?", f.OrgID)
	}
	if f.Org != "" {
		add("org_name = ?", f.Org)
	}
	if f.Username != "" {
		add("username = ?", f.Username)
	}
	if f.Network != "" {
		add("network = ?", f.Network)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func clientLimit(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, gatehouse.FieldErrorf("limit", "The limit must be between 1 and %d.", maxClientLimit)
	case limit == 0:
		return defaultClientLimit, nil
	case limit > maxClientLimit:
		return maxClientLimit, nil
	}
	return limit, nil
}

// ListClients returns the clients f selects, most recently seen first, at
// most f.Limit (0: 100; more than 1000: 1000). EINVALID for a negative
// limit.
func (db *Queries) ListClients(ctx context.Context, f gatehouse.ClientFilter) ([]*gatehouse.Client, error) {
	limit, err := clientLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	where, args := clientWhere(f)
	args = append(args, limit)
	rows, err := db.c.Q.QueryContext(ctx, `SELECT id, key_id, key_name, user_id, username, org_id, org_name, token_id,
		client_token, machine, conda_version, platform, network, ip, user_agent, first_seen, last_seen, requests
		FROM clients`+where+` ORDER BY last_seen DESC, id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "list clients")
	}
	defer rows.Close()
	clients := make([]*gatehouse.Client, 0, min(limit, 64))
	for rows.Next() {
		c := new(gatehouse.Client)
		if err := rows.Scan(&c.ID, &c.KeyID, &c.KeyName, &c.UserID, &c.Username, &c.OrgID, &c.Org, &c.TokenID,
			&c.ClientToken, &c.Machine, &c.CondaVersion, &c.Platform, &c.Network, &c.IP, &c.UserAgent,
			(*sqlkit.Time)(&c.FirstSeen), (*sqlkit.Time)(&c.LastSeen), &c.Requests); err != nil {
			return nil, sqlkit.WrapErr(err, "list clients")
		}
		clients = append(clients, c)
	}
	return clients, sqlkit.WrapErr(rows.Err(), "list clients")
}

// CountClients counts the clients f selects.
func (db *Queries) CountClients(ctx context.Context, f gatehouse.ClientFilter) (int, error) {
	where, args := clientWhere(f)
	var n int
	err := db.c.Q.QueryRowContext(ctx, `SELECT COUNT(*) FROM clients`+where, args...).Scan(&n)
	return n, sqlkit.WrapErr(err, "count clients")
}

// PruneClients keeps the keep most recently seen clients of the
// organization (orgID > 0), of the key (keyID > 0), or of all, and
// deletes the others (checklist I7). EINVALID for a negative keep.
func (db *Queries) PruneClients(ctx context.Context, orgID, keyID int64, keep int) (int64, error) {
	if keep < 0 {
		return 0, gatehouse.FieldErrorf("keep", "The number of clients to keep cannot be negative.")
	}
	where, args := "", []any{}
	switch {
	case orgID > 0:
		where, args = " WHERE org_id = $1", []any{orgID}
	case keyID > 0:
		where, args = " WHERE key_id = $1", []any{keyID}
	}
	// The newest row to delete: the one just past the keep newest.
	var at time.Time
	var id int64
	err := db.c.Q.QueryRowContext(ctx, `SELECT last_seen, id FROM clients`+where+
		` ORDER BY last_seen DESC, id DESC LIMIT 1 OFFSET $`+strconv.Itoa(len(args)+1), append(args, keep)...).Scan((*sqlkit.Time)(&at), &id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, sqlkit.WrapErr(err, "prune clients")
	}
	n := len(args)
	cond := fmt.Sprintf("(last_seen < $%d OR (last_seen = $%d AND id <= $%d))", n+1, n+1, n+2)
	if where == "" {
		where = " WHERE " + cond
	} else {
		where += " AND " + cond
	}
	res, err := db.c.Q.ExecContext(ctx, `DELETE FROM clients`+where, append(args, db.c.TV(at), id)...)
	if err != nil {
		return 0, sqlkit.WrapErr(err, "prune clients")
	}
	deleted, err := res.RowsAffected()
	return deleted, sqlkit.WrapErr(err, "prune clients")
}
