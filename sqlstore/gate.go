package sqlstore

import (
	"context"

	"github.com/gatehouse-dev/gatehouse"
)

// CreateNetworkRule inserts r and sets r.ID. The CIDR is stored as given:
// the gate package parses and validates it before. EINVALID for an empty
// CIDR, an unknown action, or text that is not UTF-8. A zero Action is
// RuleRequireRegistration, a zero CreatedAt now.
func (db *DB) CreateNetworkRule(ctx context.Context, r *gatehouse.NetworkRule) error {
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
	if err := requireText("cidr", r.CIDR, "note", r.Note, "created_by", r.CreatedBy); err != nil {
		return err
	}
	created := r.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	if err := checkTimes(created); err != nil {
		return err
	}
	var id int64
	err := db.q.QueryRowContext(ctx, `INSERT INTO network_rules (cidr, action, note, created_at, created_by)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		r.CIDR, action, r.Note, db.tv(created), r.CreatedBy).Scan(&id)
	if err != nil {
		return wrapErr(err, "create network rule")
	}
	r.ID, r.Action, r.CreatedAt = id, action, normTime(created)
	return nil
}

// ListNetworkRules returns every rule, in the order they were created.
func (db *DB) ListNetworkRules(ctx context.Context) ([]*gatehouse.NetworkRule, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT id, cidr, action, note, created_at, created_by FROM network_rules ORDER BY id`)
	if err != nil {
		return nil, wrapErr(err, "list network rules")
	}
	defer rows.Close()
	var rules []*gatehouse.NetworkRule
	for rows.Next() {
		r := new(gatehouse.NetworkRule)
		if err := rows.Scan(&r.ID, &r.CIDR, &r.Action, &r.Note, (*dbTime)(&r.CreatedAt), &r.CreatedBy); err != nil {
			return nil, wrapErr(err, "list network rules")
		}
		rules = append(rules, r)
	}
	return rules, wrapErr(rows.Err(), "list network rules")
}

// DeleteNetworkRule removes the rule; ENOTFOUND if none.
func (db *DB) DeleteNetworkRule(ctx context.Context, id int64) error {
	res, err := db.q.ExecContext(ctx, `DELETE FROM network_rules WHERE id = $1`, id)
	return mustAffect(res, err, "delete network rule", "No such network rule.")
}

// maxClientName bounds the key and user names RecordClient keeps. With
// maxSessionIP and maxUserAgent it keeps the unique key of clients within
// PostgreSQL's index row limit whatever a client sends.
const maxClientName = 128

// Client page sizes.
const (
	defaultClientLimit = 100
	maxClientLimit     = 1000
)

// RecordClient upserts the row of (c.KeyID, c.IP, c.UserAgent) and sets
// c.ID: a new row takes c as it is; an existing one keeps its FirstSeen,
// moves LastSeen to c.LastSeen if that is later (replicas write out of
// order), adds c.Requests, and takes c's KeyName and Username (a renamed
// user shows under the new name). Text comes from outside, so it is
// cleaned and cut rather than refused (the user agent to 512 bytes); c is
// left with the text as stored, and with the times and count it gave.
// EINVALID for negative Requests. A zero LastSeen is now, a zero
// FirstSeen LastSeen.
func (db *DB) RecordClient(ctx context.Context, c *gatehouse.Client) error {
	if c.Requests < 0 {
		return gatehouse.FieldErrorf("requests", "A request count cannot be negative.")
	}
	last := c.LastSeen
	if last.IsZero() {
		last = db.now()
	}
	first := c.FirstSeen
	if first.IsZero() {
		first = last
	}
	if err := checkTimes(first, last); err != nil {
		return err
	}
	c.KeyName, c.Username = outsideText(c.KeyName, maxClientName), outsideText(c.Username, maxClientName)
	c.IP, c.UserAgent = outsideText(c.IP, maxSessionIP), outsideText(c.UserAgent, maxUserAgent)
	var id int64
	err := db.q.QueryRowContext(ctx, `INSERT INTO clients
		(key_id, key_name, user_id, username, ip, user_agent, first_seen, last_seen, requests)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (key_id, ip, user_agent) DO UPDATE SET
			key_name = excluded.key_name, user_id = excluded.user_id, username = excluded.username,
			last_seen = CASE WHEN excluded.last_seen > clients.last_seen THEN excluded.last_seen ELSE clients.last_seen END,
			requests = clients.requests + excluded.requests
		RETURNING id`,
		c.KeyID, c.KeyName, c.UserID, c.Username, c.IP, c.UserAgent, db.tv(first), db.tv(last), c.Requests).Scan(&id)
	if err != nil {
		return wrapErr(err, "record client")
	}
	c.ID, c.FirstSeen, c.LastSeen = id, normTime(first), normTime(last)
	return nil
}

// ListClients returns clients, most recently seen first, at most limit (0:
// 100; more than 1000: 1000). EINVALID for a negative limit.
func (db *DB) ListClients(ctx context.Context, limit int) ([]*gatehouse.Client, error) {
	switch {
	case limit < 0:
		return nil, gatehouse.FieldErrorf("limit", "The limit must be between 1 and %d.", maxClientLimit)
	case limit == 0:
		limit = defaultClientLimit
	case limit > maxClientLimit:
		limit = maxClientLimit
	}
	rows, err := db.q.QueryContext(ctx, `SELECT id, key_id, key_name, user_id, username, ip, user_agent, first_seen, last_seen, requests
		FROM clients ORDER BY last_seen DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, wrapErr(err, "list clients")
	}
	defer rows.Close()
	clients := make([]*gatehouse.Client, 0, min(limit, 64))
	for rows.Next() {
		c := new(gatehouse.Client)
		if err := rows.Scan(&c.ID, &c.KeyID, &c.KeyName, &c.UserID, &c.Username, &c.IP, &c.UserAgent,
			(*dbTime)(&c.FirstSeen), (*dbTime)(&c.LastSeen), &c.Requests); err != nil {
			return nil, wrapErr(err, "list clients")
		}
		clients = append(clients, c)
	}
	return clients, wrapErr(rows.Err(), "list clients")
}
