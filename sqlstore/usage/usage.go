// Package usage is the part of the SQL store that counts what quotas are
// checked against (active keys, channels, bytes per owner) and does the
// bulk reads that spare a channel list a query per channel.
// sqlstore.DB embeds a Counts, so these methods are the DB's, inside its
// transactions too.
package usage

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/sqlstore/sqlkit"
)

// The counts quotas are checked against, and the bulk reads that spare a
// query per channel.

// CountActiveKeys counts the user's keys that are neither revoked nor
// expired at at.
func (db *Counts) CountActiveKeys(ctx context.Context, userID int64, at time.Time) (int, error) {
	var n int
	err := db.c.Q.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2`,
		userID, db.c.TV(at)).Scan(&n)
	return n, sqlkit.WrapErr(err, "count keys")
}

// CountChannels counts the channels of one owner: a user (ownerOrgID 0)
// or an organization (ownerUserID 0).
func (db *Counts) CountChannels(ctx context.Context, ownerUserID, ownerOrgID int64) (int, error) {
	var n int
	err := db.c.Q.QueryRowContext(ctx, `SELECT COUNT(*) FROM channels WHERE `+ownerClause, sqlkit.NullRef(ownerUserID), sqlkit.NullRef(ownerOrgID)).Scan(&n)
	return n, sqlkit.WrapErr(err, "count channels")
}

// OwnerBytes sums the sizes of the package files in one owner's channels.
func (db *Counts) OwnerBytes(ctx context.Context, ownerUserID, ownerOrgID int64) (int64, error) {
	var n int64
	err := db.c.Q.QueryRowContext(ctx, `SELECT COALESCE(SUM(p.size), 0) FROM packages p JOIN channels c ON c.id = p.channel_id
		WHERE `+ownerClause, sqlkit.NullRef(ownerUserID), sqlkit.NullRef(ownerOrgID)).Scan(&n)
	return n, sqlkit.WrapErr(err, "sum the owner's package sizes")
}

// ownerClause matches one owner's channels, aliased or not as c.
const ownerClause = `(owner_user_id = $1 OR owner_org_id = $2)`

// ChannelRoles returns the user's effective role on every channel where
// they have one (owning it, a grant, membership of the owning
// organization), in one query: a channel list needs no query per channel.
func (db *Counts) ChannelRoles(ctx context.Context, userID int64) (map[int64]gatehouse.ChannelRole, error) {
	rows, err := db.c.Q.QueryContext(ctx, `SELECT c.id, CASE WHEN c.owner_user_id = $1 THEN 1 ELSE 0 END,
			COALESCE(g.role, ''), COALESCE(m.role, '')
		FROM channels c
		LEFT JOIN channel_grants g ON g.channel_id = c.id AND g.user_id = $1
		LEFT JOIN org_members m ON m.org_id = c.owner_org_id AND m.user_id = $1
		WHERE c.owner_user_id = $1 OR g.user_id IS NOT NULL OR m.user_id IS NOT NULL`, userID)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "read channel roles")
	}
	defer rows.Close()
	out := map[int64]gatehouse.ChannelRole{}
	for rows.Next() {
		var (
			id              int64
			owner           int
			grant, orgRoleS string
		)
		if err := rows.Scan(&id, &owner, &grant, &orgRoleS); err != nil {
			return nil, sqlkit.WrapErr(err, "read channel roles")
		}
		role, err := sqlkit.GrantRole(grant)
		if err != nil {
			return nil, err
		}
		if owner == 1 {
			role = gatehouse.ChannelAdmin
		}
		if role = max(role, gatehouse.OrgChannelRole(gatehouse.OrgRole(orgRoleS))); role > gatehouse.NoAccess {
			out[id] = role
		}
	}
	return out, sqlkit.WrapErr(rows.Err(), "read channel roles")
}

// AllChannelSubdirs returns, per channel, the subdirs that hold packages,
// sorted: the channel list's platforms in one query.
func (db *Counts) AllChannelSubdirs(ctx context.Context) (map[int64][]string, error) {
	rows, err := db.c.Q.QueryContext(ctx, `SELECT DISTINCT channel_id, subdir FROM packages ORDER BY channel_id, subdir`)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "list channel subdirs")
	}
	defer rows.Close()
	out := map[int64][]string{}
	for rows.Next() {
		var (
			id     int64
			subdir string
		)
		if err := rows.Scan(&id, &subdir); err != nil {
			return nil, sqlkit.WrapErr(err, "list channel subdirs")
		}
		out[id] = append(out[id], subdir)
	}
	return out, sqlkit.WrapErr(rows.Err(), "list channel subdirs")
}

// Counts runs the usage queries on c.
type Counts struct{ c *sqlkit.Conn }

// New returns the usage queries over c, which the DB builds for itself
// and again for every transaction it hands out.
func New(c *sqlkit.Conn) *Counts { return &Counts{c: c} }
