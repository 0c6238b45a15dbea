package sqlkit

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/keyrule"
)

// The columns of users and api_keys that several parts of the store read,
// and the scanners for the column kinds the two dialects store
// differently.

// HashLen is the length of a SHA-256 hash, the only kind stored.
const HashLen = 32

// UserCols are the columns of a user, for u.
const UserCols = `u.id, u.username, u.email, u.password_hash, u.is_admin, u.disabled, u.created_at, u.password_changed_at, u.must_change_password`

// UserDest returns the scan destinations for UserCols.
func UserDest(u *gatehouse.User) []any {
	return []any{&u.ID, &u.Username, &u.Email, &u.PasswordHash, &u.IsAdmin, &u.Disabled,
		(*Time)(&u.CreatedAt), (*Time)(&u.PasswordChangedAt), &u.MustChangePassword}
}

// NormNullTime is NormTime that keeps the zero time zero.
func NormNullTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return NormTime(t)
}

// MustAffect turns an UPDATE that matched no row into ENOTFOUND.
func MustAffect(res sql.Result, err error, op, notFoundMsg string) error {
	if err != nil {
		return WrapErr(err, op)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return WrapErr(err, op)
	}
	if n == 0 {
		return NotFound("%s", notFoundMsg)
	}
	return nil
}

// KeyCols are the columns of a key, for k.
const KeyCols = `k.id, k.user_id, k.name, k.hash, k.hint, k.scopes, k.created_at, k.expires_at,
	k.last_used_at, k.revoked_at, k.revoke_reason, k.created_via, k.org_id, k.channels, k.channel_access`

// KeyColsBare is KeyCols without the table alias, for RETURNING (SQLite
// refuses qualified names there).
var KeyColsBare = strings.ReplaceAll(KeyCols, "k.", "")

// KeyDest returns the scan destinations for KeyCols.
func KeyDest(k *gatehouse.APIKey) []any {
	return []any{&k.ID, &k.UserID, &k.Name, &k.Hash, &k.Hint, (*Scopes)(&k.Scopes),
		(*Time)(&k.CreatedAt), (*Time)(&k.ExpiresAt), (*Time)(&k.LastUsedAt), (*Time)(&k.RevokedAt),
		&k.RevokeReason, &k.CreatedVia, (*NullID)(&k.OrgID), (*List)(&k.Channels), (*Access)(&k.ChannelAccess)}
}

// NullID scans a nullable ID column; NULL is 0.
type NullID int64

func (d *NullID) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = 0
	case int64:
		*d = NullID(v)
	default:
		return fmt.Errorf("sqlstore: cannot read an ID from %T", src)
	}
	return nil
}

// List scans a comma-separated text column; ” is nil.
type List []string

func (d *List) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case nil:
	default:
		return fmt.Errorf("sqlstore: cannot read a list from %T", src)
	}
	if s == "" {
		*d = nil
		return nil
	}
	*d = strings.Split(s, ",")
	return nil
}

// Access scans channel_access: ”, 'read' or 'write'.
type Access gatehouse.ChannelRole

func (d *Access) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("sqlstore: cannot read a channel access from %T", src)
	}
	r, err := keyrule.ParseChannelAccess(s)
	if err != nil {
		return fmt.Errorf("sqlstore: unknown channel access %q", s)
	}
	*d = Access(r)
	return nil
}

// AccessText is how api_keys.channel_access stores r.
func AccessText(r gatehouse.ChannelRole) string {
	if r == gatehouse.NoAccess {
		return ""
	}
	return r.String()
}

// NullRef is id for a nullable reference column: 0 is NULL.
func NullRef(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// GrantRole reads a stored grant role; "" (no grant) is NoAccess.
func GrantRole(s string) (gatehouse.ChannelRole, error) {
	switch s {
	case "":
		return gatehouse.NoAccess, nil
	case "read":
		return gatehouse.ChannelRead, nil
	case "write":
		return gatehouse.ChannelWrite, nil
	case "admin":
		return gatehouse.ChannelAdmin, nil
	}
	return gatehouse.NoAccess, fmt.Errorf("sqlstore: unknown channel role %q in the database", s)
}
