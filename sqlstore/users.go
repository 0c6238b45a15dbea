package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// claimName writes name into the shared namespace of users and
// organizations, in tx. The unique key makes a concurrent claim of the
// same name by either kind fail.
func claimName(ctx context.Context, tx *sql.Tx, name, kind string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO names (name, kind) VALUES ($1, $2)`, name, kind)
	if _, ok := uniqueViolation(err); ok {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "The name %q is not available. Choose another name.", name)
	}
	return wrapErr(err, "claim the name "+name)
}

// CreateUser inserts u and sets u.ID. ECONFLICT if a user or an
// organization already has the name; EINVALID if the name breaks the
// naming rule. A zero CreatedAt is set to now.
func (db *DB) CreateUser(ctx context.Context, u *gatehouse.User) error {
	if err := gatehouse.ValidateName("username", u.Username); err != nil {
		return err
	}
	if err := requireText("email", u.Email, "password_hash", u.PasswordHash); err != nil {
		return err
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = db.now()
	}
	if err := checkTimes(u.CreatedAt, u.PasswordChangedAt); err != nil {
		return err
	}
	var id int64
	err := db.inTx(ctx, "create user", func(tx *sql.Tx) error {
		if err := claimName(ctx, tx, u.Username, "user"); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO users
			(username, email, password_hash, is_admin, disabled, created_at, password_changed_at, must_change_password)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			u.Username, u.Email, u.PasswordHash, u.IsAdmin, u.Disabled,
			db.tv(u.CreatedAt), db.ntv(u.PasswordChangedAt), u.MustChangePassword).Scan(&id)
		return wrapErr(err, "create user")
	})
	if err != nil {
		return err
	}
	u.ID = id
	u.CreatedAt = normTime(u.CreatedAt)
	u.PasswordChangedAt = normNullTime(u.PasswordChangedAt)
	return nil
}

// UserByID returns the user, ENOTFOUND if none.
func (db *DB) UserByID(ctx context.Context, id int64) (*gatehouse.User, error) {
	return db.user(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = $1`, id)
}

// UserByName returns the user, ENOTFOUND if none.
func (db *DB) UserByName(ctx context.Context, username string) (*gatehouse.User, error) {
	if !textOK(username) {
		return nil, notFound("No such user.") // and PostgreSQL would refuse the query
	}
	return db.user(ctx, `SELECT `+userCols+` FROM users u WHERE u.username = $1`, username)
}

func (db *DB) user(ctx context.Context, query string, arg any) (*gatehouse.User, error) {
	u := new(gatehouse.User)
	err := db.q.QueryRowContext(ctx, query, arg).Scan(userDest(u)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("No such user.")
	} else if err != nil {
		return nil, wrapErr(err, "read user")
	}
	return u, nil
}

// ListUsers returns all users ordered by username.
func (db *DB) ListUsers(ctx context.Context) ([]*gatehouse.User, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT `+userCols+` FROM users u ORDER BY u.username`)
	if err != nil {
		return nil, wrapErr(err, "list users")
	}
	defer rows.Close()
	var users []*gatehouse.User
	for rows.Next() {
		u := new(gatehouse.User)
		if err := rows.Scan(userDest(u)...); err != nil {
			return nil, wrapErr(err, "list users")
		}
		users = append(users, u)
	}
	return users, wrapErr(rows.Err(), "list users")
}

// CountUsers returns the number of users.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := db.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, wrapErr(err, "count users")
}

// SetPassword replaces the password hash and sets PasswordChangedAt to at
// (now if at is zero). ENOTFOUND if no such user.
func (db *DB) SetPassword(ctx context.Context, userID int64, hash string, at time.Time) error {
	if at.IsZero() {
		at = db.now()
	}
	if err := checkTimes(at); err != nil {
		return err
	}
	if err := requireText("password_hash", hash); err != nil {
		return err
	}
	res, err := db.q.ExecContext(ctx, `UPDATE users SET password_hash = $2, password_changed_at = $3, must_change_password = FALSE WHERE id = $1`,
		userID, hash, db.tv(at))
	return mustAffect(res, err, "set password", "No such user.")
}

// UpdateUser saves u.IsAdmin, u.Disabled and u.Email; the other fields
// have methods of their own or never change. Every update tells the
// other replicas, which drop the user's cached keys (checklist A10):
// rights may have grown or shrunk, and updates are rare.
func (db *DB) UpdateUser(ctx context.Context, u *gatehouse.User) error {
	if err := requireText("email", u.Email); err != nil {
		return err
	}
	return db.inTx(ctx, "update user", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET is_admin = $2, disabled = $3, email = $4 WHERE id = $1`,
			u.ID, u.IsAdmin, u.Disabled, u.Email)
		if err := mustAffect(res, err, "update user", "No such user."); err != nil {
			return err
		}
		return db.notify(ctx, tx, gatehouse.Change{Kind: gatehouse.ChangeUser, UserID: u.ID})
	})
}
