package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gatehouse-dev/gatehouse"
)

// errLastOwner is the rule PutOrgMember and RemoveOrgMember enforce.
func errLastOwner() error {
	return gatehouse.FieldErrorf("role", "An organization must keep at least one owner: make another member an owner first.")
}

// CreateOrg inserts o with ownerID as its first owner, in one transaction,
// and sets o.ID. ECONFLICT if a user or an organization has the name,
// ENOTFOUND if the owner does not exist (and then nothing is written).
func (db *DB) CreateOrg(ctx context.Context, o *gatehouse.Org, ownerID int64) error {
	if err := gatehouse.ValidateName("name", o.Name); err != nil {
		return err
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = db.now()
	}
	if err := checkTimes(o.CreatedAt); err != nil {
		return err
	}
	var id int64
	err := db.inTx(ctx, "create organization", func(tx *sql.Tx) error {
		if err := claimName(ctx, tx, o.Name, "org"); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO orgs (name, created_at) VALUES ($1, $2) RETURNING id`,
			o.Name, db.tv(o.CreatedAt)).Scan(&id)
		if err != nil {
			return wrapErr(err, "create organization")
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO org_members (org_id, user_id, role, added_at) VALUES ($1, $2, $3, $4)`,
			id, ownerID, string(gatehouse.OrgOwner), db.tv(o.CreatedAt))
		if foreignKeyViolation(err) {
			return notFound("No user with ID %d to own the organization.", ownerID)
		}
		return wrapErr(err, "add the organization's owner")
	})
	if err != nil {
		return err
	}
	o.ID = id
	o.CreatedAt = normTime(o.CreatedAt)
	return nil
}

// OrgByName returns the organization, ENOTFOUND if none.
func (db *DB) OrgByName(ctx context.Context, name string) (*gatehouse.Org, error) {
	if !textOK(name) {
		return nil, notFound("No such organization.")
	}
	o := new(gatehouse.Org)
	err := db.q.QueryRowContext(ctx, `SELECT id, name, created_at FROM orgs WHERE name = $1`, name).
		Scan(&o.ID, &o.Name, (*dbTime)(&o.CreatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("No such organization.")
	} else if err != nil {
		return nil, wrapErr(err, "read organization")
	}
	return o, nil
}

const membershipQuery = `SELECT o.id, o.name, u.id, u.username, m.role, m.added_at
	FROM org_members m JOIN orgs o ON o.id = m.org_id JOIN users u ON u.id = m.user_id `

func membershipDest(m *gatehouse.Membership) []any {
	return []any{&m.OrgID, &m.OrgName, &m.UserID, &m.Username, (*string)(&m.Role), (*dbTime)(&m.AddedAt)}
}

// UserOrgs returns the user's memberships ordered by organization name.
func (db *DB) UserOrgs(ctx context.Context, userID int64) ([]*gatehouse.Membership, error) {
	return db.memberships(ctx, membershipQuery+`WHERE m.user_id = $1 ORDER BY o.name`, userID)
}

// OrgMembers returns the members ordered by username.
func (db *DB) OrgMembers(ctx context.Context, orgID int64) ([]*gatehouse.Membership, error) {
	return db.memberships(ctx, membershipQuery+`WHERE m.org_id = $1 ORDER BY u.username`, orgID)
}

func (db *DB) memberships(ctx context.Context, query string, arg int64) ([]*gatehouse.Membership, error) {
	rows, err := db.q.QueryContext(ctx, query, arg)
	if err != nil {
		return nil, wrapErr(err, "list memberships")
	}
	defer rows.Close()
	var ms []*gatehouse.Membership
	for rows.Next() {
		m := new(gatehouse.Membership)
		if err := rows.Scan(membershipDest(m)...); err != nil {
			return nil, wrapErr(err, "list memberships")
		}
		ms = append(ms, m)
	}
	return ms, wrapErr(rows.Err(), "list memberships")
}

// OrgMember returns one membership, ENOTFOUND if none.
func (db *DB) OrgMember(ctx context.Context, orgID, userID int64) (*gatehouse.Membership, error) {
	m := new(gatehouse.Membership)
	err := db.q.QueryRowContext(ctx, membershipQuery+`WHERE m.org_id = $1 AND m.user_id = $2`, orgID, userID).
		Scan(membershipDest(m)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("This user is not a member of the organization.")
	} else if err != nil {
		return nil, wrapErr(err, "read membership")
	}
	return m, nil
}

// lockOrg checks the organization exists and, on PostgreSQL, locks its row
// until tx ends, so that changes to its owners happen one at a time and the
// owner count read next stays true until commit.
func (db *DB) lockOrg(ctx context.Context, tx *sql.Tx, orgID int64) error {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM orgs WHERE id = $1`+db.lockRow, orgID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("No such organization.")
	}
	return wrapErr(err, "lock organization")
}

// ownerChange reads the user's role and, if they are an owner about to
// stop being one, refuses when they are the last. It returns the role, ""
// if the user is no member.
func (db *DB) ownerChange(ctx context.Context, tx *sql.Tx, orgID, userID int64, newRole gatehouse.OrgRole) (gatehouse.OrgRole, error) {
	var role string
	err := tx.QueryRowContext(ctx, `SELECT role FROM org_members WHERE org_id = $1 AND user_id = $2`, orgID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", wrapErr(err, "read membership")
	}
	if gatehouse.OrgRole(role) != gatehouse.OrgOwner || newRole == gatehouse.OrgOwner {
		return gatehouse.OrgRole(role), nil
	}
	var owners int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM org_members WHERE org_id = $1 AND role = $2`,
		orgID, string(gatehouse.OrgOwner)).Scan(&owners); err != nil {
		return "", wrapErr(err, "count owners")
	}
	if owners <= 1 {
		return "", errLastOwner()
	}
	return gatehouse.OrgRole(role), nil
}

// PutOrgMember adds the user with role, or changes their role. EINVALID if
// the role is unknown or the change would leave the organization without
// an owner; ENOTFOUND if the organization or the user does not exist.
func (db *DB) PutOrgMember(ctx context.Context, orgID, userID int64, role gatehouse.OrgRole) error {
	if _, err := gatehouse.ParseOrgRole(string(role)); err != nil {
		return err
	}
	return db.inTx(ctx, "put organization member", func(tx *sql.Tx) error {
		if err := db.lockOrg(ctx, tx, orgID); err != nil {
			return err
		}
		if _, err := db.ownerChange(ctx, tx, orgID, userID, role); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO org_members (org_id, user_id, role, added_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role`,
			orgID, userID, string(role), db.tv(db.now()))
		if foreignKeyViolation(err) {
			return notFound("No such user.")
		} else if err != nil {
			return wrapErr(err, "put organization member")
		}
		return db.notify(ctx, tx, gatehouse.Change{Kind: gatehouse.ChangeRoles})
	})
}

// RemoveOrgMember removes the user. ENOTFOUND if not a member, EINVALID if
// they are the last owner.
func (db *DB) RemoveOrgMember(ctx context.Context, orgID, userID int64) error {
	return db.inTx(ctx, "remove organization member", func(tx *sql.Tx) error {
		if err := db.lockOrg(ctx, tx, orgID); err != nil {
			return err
		}
		role, err := db.ownerChange(ctx, tx, orgID, userID, "")
		if err != nil {
			return err
		}
		if role == "" {
			return notFound("This user is not a member of the organization.")
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM org_members WHERE org_id = $1 AND user_id = $2`, orgID, userID)
		if err != nil {
			return wrapErr(err, "remove organization member")
		}
		return db.notify(ctx, tx, gatehouse.Change{Kind: gatehouse.ChangeRoles})
	})
}
