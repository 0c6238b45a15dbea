package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// The counts quotas are checked against, and the bulk reads that spare a
// query per channel.

// CountActiveKeys counts the user's keys that are neither revoked nor
// expired at at.
func (db *DB) CountActiveKeys(ctx context.Context, userID int64, at time.Time) (int, error) {
	var n int
	err := db.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2`,
		userID, db.tv(at)).Scan(&n)
	return n, wrapErr(err, "count keys")
}

// CountChannels counts the channels of one owner: a user (ownerOrgID 0)
// or an organization (ownerUserID 0).
func (db *DB) CountChannels(ctx context.Context, ownerUserID, ownerOrgID int64) (int, error) {
	var n int
	err := db.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM channels WHERE `+ownerClause, nullID(ownerUserID), nullID(ownerOrgID)).Scan(&n)
	return n, wrapErr(err, "count channels")
}

// OwnerBytes sums the sizes of the package files in one owner's channels.
func (db *DB) OwnerBytes(ctx context.Context, ownerUserID, ownerOrgID int64) (int64, error) {
	var n int64
	err := db.q.QueryRowContext(ctx, `SELECT COALESCE(SUM(p.size), 0) FROM packages p JOIN channels c ON c.id = p.channel_id
		WHERE `+ownerClause, nullID(ownerUserID), nullID(ownerOrgID)).Scan(&n)
	return n, wrapErr(err, "sum the owner's package sizes")
}

// ownerClause matches one owner's channels, aliased or not as c.
const ownerClause = `(owner_user_id = $1 OR owner_org_id = $2)`

// ChannelRoles returns the user's effective role on every channel where
// they have one (owning it, a grant, membership of the owning
// organization), in one query: a channel list needs no query per channel.
func (db *DB) ChannelRoles(ctx context.Context, userID int64) (map[int64]gatehouse.ChannelRole, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT c.id, CASE WHEN c.owner_user_id = $1 THEN 1 ELSE 0 END,
			COALESCE(g.role, ''), COALESCE(m.role, '')
		FROM channels c
		LEFT JOIN channel_grants g ON g.channel_id = c.id AND g.user_id = $1
		LEFT JOIN org_members m ON m.org_id = c.owner_org_id AND m.user_id = $1
		WHERE c.owner_user_id = $1 OR g.user_id IS NOT NULL OR m.user_id IS NOT NULL`, userID)
	if err != nil {
		return nil, wrapErr(err, "read channel roles")
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
			return nil, wrapErr(err, "read channel roles")
		}
		role, err := grantRole(grant)
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
	return out, wrapErr(rows.Err(), "read channel roles")
}

// AllChannelSubdirs returns, per channel, the subdirs that hold packages,
// sorted: the channel list's platforms in one query.
func (db *DB) AllChannelSubdirs(ctx context.Context) (map[int64][]string, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT DISTINCT channel_id, subdir FROM packages ORDER BY channel_id, subdir`)
	if err != nil {
		return nil, wrapErr(err, "list channel subdirs")
	}
	defer rows.Close()
	out := map[int64][]string{}
	for rows.Next() {
		var (
			id     int64
			subdir string
		)
		if err := rows.Scan(&id, &subdir); err != nil {
			return nil, wrapErr(err, "list channel subdirs")
		}
		out[id] = append(out[id], subdir)
	}
	return out, wrapErr(rows.Err(), "list channel subdirs")
}
