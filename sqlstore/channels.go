package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/condaname"
)

// channelCols reads a channel with its owner's name; use it with
// channelFrom.
const channelCols = `c.id, c.name, c.visibility, COALESCE(c.owner_user_id, 0), COALESCE(c.owner_org_id, 0),
	COALESCE(u.username, o.name, ''), c.created_at, c.revision`

const channelFrom = ` FROM channels c LEFT JOIN users u ON u.id = c.owner_user_id LEFT JOIN orgs o ON o.id = c.owner_org_id `

func channelDest(c *gatehouse.Channel) []any {
	return []any{&c.ID, &c.Name, (*string)(&c.Visibility), &c.OwnerUserID, &c.OwnerOrgID, &c.Owner,
		(*dbTime)(&c.CreatedAt), &c.Revision}
}

// CreateChannel inserts c and sets c.ID, c.Owner (the owner's name) and
// c.Revision (1). Exactly one of OwnerUserID and OwnerOrgID must be set
// (EINVALID otherwise), and name it a user or organization that exists
// (ENOTFOUND otherwise). ECONFLICT if the name is taken, or a name that
// looks alike (the same condaname.CanonicalChannel); EINVALID if it
// breaks conda's rule. A zero Visibility is Private, a zero CreatedAt now.
func (db *DB) CreateChannel(ctx context.Context, c *gatehouse.Channel) error {
	if err := condaname.ValidateChannel(c.Name); err != nil {
		return err
	}
	vis := c.Visibility
	if vis == "" {
		vis = gatehouse.Private // fail closed
	}
	if _, err := gatehouse.ParseVisibility(string(vis)); err != nil {
		return err
	}
	if (c.OwnerUserID == 0) == (c.OwnerOrgID == 0) {
		return gatehouse.FieldErrorf("owner", "A channel has exactly one owner: a user or an organization.")
	}
	created := c.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	if err := checkTimes(created); err != nil {
		return err
	}
	got := new(gatehouse.Channel)
	canonical := condaname.CanonicalChannel(c.Name)
	taken := gatehouse.Errorf(gatehouse.ECONFLICT, "The channel name %q is taken; choose another.", c.Name)
	err := db.inTx(ctx, "create channel", func(tx *sql.Tx) error {
		if db.dialect == Postgres {
			// Two look-alikes created at once must not both pass the
			// check below: serialize creations of one canonical name.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('gatehouse channel ' || $1))`, canonical); err != nil {
				return wrapErr(err, "lock the channel name")
			}
		}
		var found int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM channels WHERE canonical_name = $1`, canonical).Scan(&found)
		if err != nil {
			return wrapErr(err, "check the channel name")
		}
		if found > 0 {
			return taken
		}
		var id int64
		err = tx.QueryRowContext(ctx, `INSERT INTO channels (name, canonical_name, visibility, owner_user_id, owner_org_id, created_at, revision)
			VALUES ($1, $2, $3, $4, $5, $6, 1) RETURNING id`,
			c.Name, canonical, string(vis), nullID(c.OwnerUserID), nullID(c.OwnerOrgID), db.tv(created)).Scan(&id)
		if _, ok := uniqueViolation(err); ok {
			return taken
		} else if foreignKeyViolation(err) {
			if c.OwnerUserID != 0 {
				return notFound("No user with ID %d to own the channel.", c.OwnerUserID)
			}
			return notFound("No organization with ID %d to own the channel.", c.OwnerOrgID)
		} else if err != nil {
			return wrapErr(err, "create channel")
		}
		err = tx.QueryRowContext(ctx, `SELECT `+channelCols+channelFrom+`WHERE c.id = $1`, id).Scan(channelDest(got)...)
		return wrapErr(err, "read the new channel")
	})
	if err != nil {
		return err
	}
	*c = *got
	return nil
}

// ChannelByName returns the channel with its owner's name, ENOTFOUND if
// none.
func (db *DB) ChannelByName(ctx context.Context, name string) (*gatehouse.Channel, error) {
	if !textOK(name) {
		return nil, notFound("No such channel.") // and PostgreSQL would refuse the query
	}
	c := new(gatehouse.Channel)
	err := db.q.QueryRowContext(ctx, `SELECT `+channelCols+channelFrom+`WHERE c.name = $1`, name).Scan(channelDest(c)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("No such channel.")
	} else if err != nil {
		return nil, wrapErr(err, "read channel")
	}
	return c, nil
}

// ListChannels returns every channel ordered by name.
func (db *DB) ListChannels(ctx context.Context) ([]*gatehouse.Channel, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT `+channelCols+channelFrom+`ORDER BY c.name`)
	if err != nil {
		return nil, wrapErr(err, "list channels")
	}
	defer rows.Close()
	var cs []*gatehouse.Channel
	for rows.Next() {
		c := new(gatehouse.Channel)
		if err := rows.Scan(channelDest(c)...); err != nil {
			return nil, wrapErr(err, "list channels")
		}
		cs = append(cs, c)
	}
	return cs, wrapErr(rows.Err(), "list channels")
}

// SetChannelVisibility changes who may read the channel. EINVALID for an
// unknown visibility, ENOTFOUND if there is no such channel. The revision
// stays: it versions the packages, and repodata does not change.
func (db *DB) SetChannelVisibility(ctx context.Context, channelID int64, v gatehouse.Visibility) error {
	if _, err := gatehouse.ParseVisibility(string(v)); err != nil {
		return err
	}
	return db.inTx(ctx, "set channel visibility", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE channels SET visibility = $2 WHERE id = $1`, channelID, string(v))
		if err := mustAffect(res, err, "set channel visibility", "No such channel."); err != nil {
			return err
		}
		return db.notify(ctx, tx, gatehouse.Change{Kind: gatehouse.ChangeChannel, ChannelID: channelID})
	})
}

// PutChannelGrant gives the user the role on the channel, replacing any
// grant they had (and its GrantedAt). EINVALID unless role is read, write
// or admin; ENOTFOUND if the channel or the user does not exist. A zero
// at is now.
func (db *DB) PutChannelGrant(ctx context.Context, channelID, userID int64, role gatehouse.ChannelRole, at time.Time) error {
	if role < gatehouse.ChannelRead || role > gatehouse.ChannelAdmin {
		return gatehouse.FieldErrorf("role", "Role must be \"read\", \"write\" or \"admin\".")
	}
	if at.IsZero() {
		at = db.now()
	}
	if err := checkTimes(at); err != nil {
		return err
	}
	return db.inTx(ctx, "put channel grant", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO channel_grants (channel_id, user_id, role, granted_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (channel_id, user_id) DO UPDATE SET role = excluded.role, granted_at = excluded.granted_at`,
			channelID, userID, role.String(), db.tv(at))
		if foreignKeyViolation(err) {
			return notFound("No such channel or user.")
		} else if err != nil {
			return wrapErr(err, "put channel grant")
		}
		return db.notify(ctx, tx, gatehouse.Change{Kind: gatehouse.ChangeChannel, ChannelID: channelID})
	})
}

// DeleteChannelGrant removes the user's grant; ENOTFOUND if they have
// none. Access they hold otherwise (owner, organization) stays.
func (db *DB) DeleteChannelGrant(ctx context.Context, channelID, userID int64) error {
	return db.inTx(ctx, "delete channel grant", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM channel_grants WHERE channel_id = $1 AND user_id = $2`, channelID, userID)
		if err := mustAffect(res, err, "delete channel grant", "This user has no grant on the channel."); err != nil {
			return err
		}
		return db.notify(ctx, tx, gatehouse.Change{Kind: gatehouse.ChangeChannel, ChannelID: channelID})
	})
}

// ChannelGrants returns the channel's explicit grants ordered by username.
func (db *DB) ChannelGrants(ctx context.Context, channelID int64) ([]*gatehouse.ChannelGrant, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT g.channel_id, g.user_id, u.username, g.role, g.granted_at
		FROM channel_grants g JOIN users u ON u.id = g.user_id WHERE g.channel_id = $1 ORDER BY u.username`, channelID)
	if err != nil {
		return nil, wrapErr(err, "list channel grants")
	}
	defer rows.Close()
	var gs []*gatehouse.ChannelGrant
	for rows.Next() {
		g := new(gatehouse.ChannelGrant)
		var role string
		if err := rows.Scan(&g.ChannelID, &g.UserID, &g.Username, &role, (*dbTime)(&g.GrantedAt)); err != nil {
			return nil, wrapErr(err, "list channel grants")
		}
		if g.Role, err = grantRole(role); err != nil {
			return nil, err
		}
		gs = append(gs, g)
	}
	return gs, wrapErr(rows.Err(), "list channel grants")
}

// channelRoleQuery reads, in one row, the three sources of a user's role
// on a channel: owning it, an explicit grant, and membership of the
// organization that owns it. Each subquery is a lookup by primary key.
// (Subqueries rather than LEFT JOINs: SQLite prepares them in about half
// the time, and it prepares the statement on every call.)
const channelRoleQuery = `SELECT CASE WHEN c.owner_user_id = $2 THEN 1 ELSE 0 END,
	COALESCE((SELECT g.role FROM channel_grants g WHERE g.channel_id = c.id AND g.user_id = $2), ''),
	COALESCE((SELECT m.role FROM org_members m WHERE m.org_id = c.owner_org_id AND m.user_id = $2), '')
	FROM channels c WHERE c.id = $1`

// ChannelRoleOf returns the user's effective role on the channel at this
// moment, in one query: the highest of ChannelAdmin if they own it, their
// explicit grant, and gatehouse.OrgChannelRole of their membership in the
// owning organization. NoAccess if none applies, or if the channel or
// the user does not exist. Whether the user is disabled is not its
// concern: the caller refuses disabled users before asking.
func (db *DB) ChannelRoleOf(ctx context.Context, channelID, userID int64) (gatehouse.ChannelRole, error) {
	var (
		owner           int
		grant, orgRoleS string
	)
	err := db.q.QueryRowContext(ctx, channelRoleQuery, channelID, userID).Scan(&owner, &grant, &orgRoleS)
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.NoAccess, nil
	} else if err != nil {
		return gatehouse.NoAccess, wrapErr(err, "read channel role")
	}
	role, err := grantRole(grant)
	if err != nil {
		return gatehouse.NoAccess, err
	}
	if owner == 1 {
		role = gatehouse.ChannelAdmin
	}
	return max(role, gatehouse.OrgChannelRole(gatehouse.OrgRole(orgRoleS))), nil
}
