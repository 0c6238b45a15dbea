package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/sqlstore/sqlkit"
)

// Single sign-on: organizations' providers and domain claims, identities
// linked to accounts, and sign-ins in flight.

// PutSSOConfig creates or replaces the organization's configuration and its
// domain claims, in one transaction: kept domains keep their confirmation.
func (db *Store) PutSSOConfig(ctx context.Context, c *gatehouse.SSOConfig) error {
	if c.Issuer == "" || c.ClientID == "" {
		return gatehouse.Errorf(gatehouse.EINVALID, "An identity provider needs an issuer and a client ID.")
	}
	if err := sqlkit.RequireText("issuer", c.Issuer, "client_id", c.ClientID, "client_secret", c.ClientSecret); err != nil {
		return err
	}
	roles, err := json.Marshal(orEmpty(c.GroupRoles))
	if err != nil {
		return err
	}
	channels, err := json.Marshal(orEmpty(c.GroupChannels))
	if err != nil {
		return err
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = db.c.Now()
	}
	if err := sqlkit.CheckTimes(c.UpdatedAt); err != nil {
		return err
	}
	domains := make([]string, 0, len(c.Domains))
	for _, d := range c.Domains {
		if d.Domain == "" || !sqlkit.TextOK(d.Domain) {
			return gatehouse.FieldErrorf("domains", "Domains may not be empty.")
		}
		domains = append(domains, d.Domain)
	}
	return db.c.InTx(ctx, "store SSO configuration", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sso_configs
			(org_id, issuer, client_id, client_secret, required, group_roles, group_channels, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (org_id) DO UPDATE SET
			issuer = excluded.issuer, client_id = excluded.client_id, client_secret = excluded.client_secret,
			required = excluded.required, group_roles = excluded.group_roles, group_channels = excluded.group_channels,
			updated_at = excluded.updated_at`,
			c.OrgID, c.Issuer, c.ClientID, c.ClientSecret, c.Required, string(roles), string(channels), db.c.TV(c.UpdatedAt))
		if sqlkit.ForeignKeyViolation(err) {
			return sqlkit.NotFound("No such organization.")
		} else if err != nil {
			return sqlkit.WrapErr(err, "store SSO configuration")
		}
		rows, err := tx.QueryContext(ctx, `SELECT domain FROM sso_domains WHERE org_id = $1`, c.OrgID)
		if err != nil {
			return sqlkit.WrapErr(err, "read domain claims")
		}
		have := map[string]bool{}
		for rows.Next() {
			var d string
			if err := rows.Scan(&d); err != nil {
				rows.Close()
				return sqlkit.WrapErr(err, "read domain claims")
			}
			have[d] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return sqlkit.WrapErr(err, "read domain claims")
		}
		want := map[string]bool{}
		for _, d := range domains {
			want[d] = true
			if !have[d] {
				if _, err := tx.ExecContext(ctx, `INSERT INTO sso_domains (domain, org_id) VALUES ($1, $2)`, d, c.OrgID); err != nil {
					return sqlkit.WrapErr(err, "claim domain")
				}
			}
		}
		for d := range have {
			if !want[d] {
				if _, err := tx.ExecContext(ctx, `DELETE FROM sso_domains WHERE domain = $1 AND org_id = $2`, d, c.OrgID); err != nil {
					return sqlkit.WrapErr(err, "drop domain claim")
				}
			}
		}
		return nil
	})
}

func orEmpty[M ~map[K]V, K comparable, V any](m M) M {
	if m == nil {
		return M{}
	}
	return m
}

// SSOConfig returns the organization's configuration with its claims,
// ENOTFOUND if none.
func (db *Store) SSOConfig(ctx context.Context, orgID int64) (*gatehouse.SSOConfig, error) {
	c := &gatehouse.SSOConfig{}
	var roles, channels string
	err := db.c.Q.QueryRowContext(ctx, `SELECT s.org_id, o.name, s.issuer, s.client_id, s.client_secret, s.required,
		s.group_roles, s.group_channels, s.updated_at FROM sso_configs s JOIN orgs o ON o.id = s.org_id WHERE s.org_id = $1`, orgID).
		Scan(&c.OrgID, &c.Org, &c.Issuer, &c.ClientID, &c.ClientSecret, &c.Required, &roles, &channels, (*sqlkit.Time)(&c.UpdatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sqlkit.NotFound("This organization has no single sign-on.")
	} else if err != nil {
		return nil, sqlkit.WrapErr(err, "read SSO configuration")
	}
	if err := json.Unmarshal([]byte(roles), &c.GroupRoles); err != nil {
		return nil, sqlkit.WrapErr(err, "read SSO group roles")
	}
	if err := json.Unmarshal([]byte(channels), &c.GroupChannels); err != nil {
		return nil, sqlkit.WrapErr(err, "read SSO group channels")
	}
	ds, err := db.ssoDomains(ctx, `WHERE d.org_id = $1 ORDER BY d.domain`, orgID)
	if err != nil {
		return nil, err
	}
	c.Domains = make([]gatehouse.SSODomain, len(ds))
	for i, d := range ds {
		c.Domains[i] = *d
	}
	return c, nil
}

func (db *Store) ssoDomains(ctx context.Context, where string, args ...any) ([]*gatehouse.SSODomain, error) {
	rows, err := db.c.Q.QueryContext(ctx, `SELECT d.domain, d.org_id, o.name, d.confirmed_at, d.confirmed_by
		FROM sso_domains d JOIN orgs o ON o.id = d.org_id `+where, args...)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "list domain claims")
	}
	defer rows.Close()
	var out []*gatehouse.SSODomain
	for rows.Next() {
		d := new(gatehouse.SSODomain)
		if err := rows.Scan(&d.Domain, &d.OrgID, &d.Org, (*sqlkit.Time)(&d.ConfirmedAt), &d.ConfirmedBy); err != nil {
			return nil, sqlkit.WrapErr(err, "list domain claims")
		}
		d.Confirmed = !d.ConfirmedAt.IsZero()
		out = append(out, d)
	}
	return out, sqlkit.WrapErr(rows.Err(), "list domain claims")
}

// ConfirmedSSODomain returns the confirmed claim of the domain, ENOTFOUND
// if none.
func (db *Store) ConfirmedSSODomain(ctx context.Context, domain string) (*gatehouse.SSODomain, error) {
	if !sqlkit.TextOK(domain) {
		return nil, sqlkit.NotFound("No organization signs in this domain.")
	}
	ds, err := db.ssoDomains(ctx, `WHERE d.domain = $1 AND d.confirmed_at IS NOT NULL`, domain)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, sqlkit.NotFound("No organization signs in this domain.")
	}
	return ds[0], nil
}

// ListSSODomains returns every claim, by domain then organization.
func (db *Store) ListSSODomains(ctx context.Context) ([]*gatehouse.SSODomain, error) {
	return db.ssoDomains(ctx, `ORDER BY d.domain, o.name`)
}

// ConfirmSSODomain confirms the organization's claim of the domain.
// ENOTFOUND if it made none; ECONFLICT if another claim is confirmed.
func (db *Store) ConfirmSSODomain(ctx context.Context, domain string, orgID int64, by string, at time.Time) error {
	if err := sqlkit.CheckTimes(at); err != nil {
		return err
	}
	if err := sqlkit.RequireText("domain", domain, "confirmed_by", by); err != nil {
		return err
	}
	res, err := db.c.Q.ExecContext(ctx, `UPDATE sso_domains SET confirmed_at = $3, confirmed_by = $4
		WHERE domain = $1 AND org_id = $2 AND confirmed_at IS NULL`, domain, orgID, db.c.TV(at), by)
	if _, ok := sqlkit.UniqueViolation(err); ok {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "Another organization's claim of %s is confirmed already.", domain)
	} else if err != nil {
		return sqlkit.WrapErr(err, "confirm domain claim")
	}
	if n, err := res.RowsAffected(); err != nil {
		return sqlkit.WrapErr(err, "confirm domain claim")
	} else if n == 1 {
		return nil
	}
	var one int
	err = db.c.Q.QueryRowContext(ctx, `SELECT 1 FROM sso_domains WHERE domain = $1 AND org_id = $2`, domain, orgID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return sqlkit.NotFound("This organization has not claimed %s.", domain)
	}
	return sqlkit.WrapErr(err, "confirm domain claim") // confirmed already: nothing to do
}

// CreateSSOLogin inserts a sign-in in flight.
func (db *Store) CreateSSOLogin(ctx context.Context, l *gatehouse.SSOLogin) error {
	if len(l.StateHash) != sqlkit.HashLen || len(l.BrowserHash) != sqlkit.HashLen {
		return gatehouse.Errorf(gatehouse.EINVALID, "State and browser hashes are SHA-256.")
	}
	if err := sqlkit.RequireText("next", l.Next); err != nil {
		return err
	}
	if err := sqlkit.CheckTimes(l.CreatedAt, l.ExpiresAt); err != nil {
		return err
	}
	_, err := db.c.Q.ExecContext(ctx, `INSERT INTO sso_logins (state_hash, browser_hash, org_id, next, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, l.StateHash, l.BrowserHash, l.OrgID, l.Next, db.c.TV(l.CreatedAt), db.c.TV(l.ExpiresAt))
	if _, ok := sqlkit.UniqueViolation(err); ok {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "This sign-in state exists already.")
	} else if sqlkit.ForeignKeyViolation(err) {
		return sqlkit.NotFound("No such organization.")
	}
	return sqlkit.WrapErr(err, "store sign-in state")
}

// TakeSSOLogin deletes and returns the sign-in with this state hash, so a
// state works once. ENOTFOUND if none.
func (db *Store) TakeSSOLogin(ctx context.Context, stateHash []byte) (*gatehouse.SSOLogin, error) {
	l := new(gatehouse.SSOLogin)
	err := db.c.Q.QueryRowContext(ctx, `DELETE FROM sso_logins WHERE state_hash = $1
		RETURNING state_hash, browser_hash, org_id, next, created_at, expires_at`, stateHash).
		Scan(&l.StateHash, &l.BrowserHash, &l.OrgID, &l.Next, (*sqlkit.Time)(&l.CreatedAt), (*sqlkit.Time)(&l.ExpiresAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sqlkit.NotFound("This sign-in is unknown or was used already.")
	}
	return l, sqlkit.WrapErr(err, "take sign-in state")
}

// DeleteExpiredSSOLogins removes sign-ins that expired before t.
func (db *Store) DeleteExpiredSSOLogins(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.c.Q.ExecContext(ctx, `DELETE FROM sso_logins WHERE expires_at < $1`, db.c.TV(t))
	if err != nil {
		return 0, sqlkit.WrapErr(err, "delete expired sign-ins")
	}
	n, err := res.RowsAffected()
	return n, sqlkit.WrapErr(err, "delete expired sign-ins")
}

const ssoIdentityCols = `issuer, subject, user_id, org_id, email, provider_groups, granted_role, granted_channels, last_login_at`

func (db *Store) scanSSOIdentities(rows *sql.Rows) ([]*gatehouse.SSOIdentity, error) {
	defer rows.Close()
	var out []*gatehouse.SSOIdentity
	for rows.Next() {
		id := new(gatehouse.SSOIdentity)
		var groups, channels, role string
		if err := rows.Scan(&id.Issuer, &id.Subject, &id.UserID, &id.OrgID, &id.Email, &groups, &role, &channels,
			(*sqlkit.Time)(&id.LastLoginAt)); err != nil {
			return nil, sqlkit.WrapErr(err, "read SSO identity")
		}
		id.GrantedRole = gatehouse.OrgRole(role)
		if err := json.Unmarshal([]byte(groups), &id.Groups); err != nil {
			return nil, sqlkit.WrapErr(err, "read SSO identity groups")
		}
		if err := json.Unmarshal([]byte(channels), &id.GrantedChannels); err != nil {
			return nil, sqlkit.WrapErr(err, "read SSO identity grants")
		}
		out = append(out, id)
	}
	return out, sqlkit.WrapErr(rows.Err(), "read SSO identity")
}

// SSOIdentity returns the link of a provider subject, ENOTFOUND if none.
func (db *Store) SSOIdentity(ctx context.Context, issuer, subject string) (*gatehouse.SSOIdentity, error) {
	if !sqlkit.TextOK(issuer) || !sqlkit.TextOK(subject) {
		return nil, sqlkit.NotFound("No such identity.")
	}
	rows, err := db.c.Q.QueryContext(ctx, `SELECT `+ssoIdentityCols+` FROM sso_identities WHERE issuer = $1 AND subject = $2`, issuer, subject)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "read SSO identity")
	}
	ids, err := db.scanSSOIdentities(rows)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, sqlkit.NotFound("No such identity.")
	}
	return ids[0], nil
}

// SSOIdentitiesOfUser returns the user's links.
func (db *Store) SSOIdentitiesOfUser(ctx context.Context, userID int64) ([]*gatehouse.SSOIdentity, error) {
	rows, err := db.c.Q.QueryContext(ctx, `SELECT `+ssoIdentityCols+` FROM sso_identities WHERE user_id = $1 ORDER BY issuer, subject`, userID)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "read SSO identities")
	}
	return db.scanSSOIdentities(rows)
}

// PutSSOIdentity creates or updates the link of a provider subject.
func (db *Store) PutSSOIdentity(ctx context.Context, id *gatehouse.SSOIdentity) error {
	if id.Issuer == "" || id.Subject == "" {
		return gatehouse.Errorf(gatehouse.EINVALID, "An identity needs an issuer and a subject.")
	}
	if err := sqlkit.RequireText("issuer", id.Issuer, "subject", id.Subject, "email", id.Email); err != nil {
		return err
	}
	for _, g := range id.Groups {
		if !sqlkit.TextOK(g) {
			return gatehouse.FieldErrorf("groups", "Group names must be text.")
		}
	}
	if err := sqlkit.CheckTimes(id.LastLoginAt); err != nil {
		return err
	}
	groups, err := json.Marshal(orEmptySlice(id.Groups))
	if err != nil {
		return err
	}
	channels, err := json.Marshal(orEmpty(id.GrantedChannels))
	if err != nil {
		return err
	}
	_, err = db.c.Q.ExecContext(ctx, `INSERT INTO sso_identities (`+ssoIdentityCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (issuer, subject) DO UPDATE SET
		user_id = excluded.user_id, org_id = excluded.org_id, email = excluded.email,
		provider_groups = excluded.provider_groups, granted_role = excluded.granted_role,
		granted_channels = excluded.granted_channels, last_login_at = excluded.last_login_at`,
		id.Issuer, id.Subject, id.UserID, id.OrgID, id.Email, string(groups), string(id.GrantedRole), string(channels),
		db.c.TV(id.LastLoginAt))
	if sqlkit.ForeignKeyViolation(err) {
		return sqlkit.NotFound("No such user or organization.")
	}
	return sqlkit.WrapErr(err, "store SSO identity")
}

func orEmptySlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
