package service

import (
	"context"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

// Users implements gatehouse.UserService.
type Users struct{ *core }

// requireAdmin refuses anyone but an administrator acting with the
// Administration scope (a session, or a key that holds it).
func requireAdmin(p *gatehouse.Principal) error {
	return p.Require(gatehouse.ScopeAdmin)
}

// CreateUser is an administrator's action.
func (s *Users) CreateUser(ctx context.Context, p *gatehouse.Principal, req gatehouse.NewUser) (*gatehouse.User, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	req.Username = strings.TrimSpace(req.Username)
	if err := gatehouse.ValidateName("username", req.Username); err != nil {
		return nil, err
	}
	if err := gatehouse.ValidatePassword("password", req.Password); err != nil {
		return nil, err
	}
	if len(req.Email) > 254 || (req.Email != "" && !strings.Contains(req.Email, "@")) {
		return nil, gatehouse.FieldErrorf("email", "That is not an email address.")
	}
	hash, err := s.hasher.Hash(ctx, req.Password)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u := &gatehouse.User{Username: req.Username, Email: req.Email, PasswordHash: hash, IsAdmin: req.IsAdmin, CreatedAt: now, PasswordChangedAt: now}
	err = s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		e := s.event(p, gatehouse.AuditUserCreate, "user:"+u.Username)
		e.Detail = "admin=" + strconv.FormatBool(u.IsAdmin)
		return s.audit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// ListUsers lists every account, for administrators.
func (s *Users) ListUsers(ctx context.Context, p *gatehouse.Principal) ([]*gatehouse.User, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	return s.store.ListUsers(ctx)
}

// UpdateUser changes a user's rights. Disabling ends their sessions and
// stops their keys at once (checklist A10): the cache forgets them, so the
// next request re-reads the account.
func (s *Users) UpdateUser(ctx context.Context, p *gatehouse.Principal, name string, req gatehouse.UserUpdate) (*gatehouse.User, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	u, err := s.store.UserByName(ctx, name)
	if err != nil {
		return nil, err
	}
	if u.ID == p.User.ID && ((req.Disabled != nil && *req.Disabled) || (req.IsAdmin != nil && !*req.IsAdmin)) {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "You cannot disable yourself or remove your own administrator rights; ask another administrator.")
	}
	var changes []string
	if req.IsAdmin != nil {
		u.IsAdmin = *req.IsAdmin
		changes = append(changes, "admin="+strconv.FormatBool(u.IsAdmin))
	}
	if req.Disabled != nil {
		u.Disabled = *req.Disabled
		changes = append(changes, "disabled="+strconv.FormatBool(u.Disabled))
	}
	err = s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if u.Disabled {
			if err := tx.DeleteUserSessions(ctx, u.ID); err != nil {
				return err
			}
		}
		e := s.event(p, gatehouse.AuditUserUpdate, "user:"+u.Username)
		e.Detail = strings.Join(changes, " ")
		return s.audit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	s.keys.ForgetUser(u.ID)
	return u, nil
}

// ChangePassword checks the current password, stores the new hash, and
// ends every session of the user (other browsers must sign in again). API
// keys are separate credentials and keep working. The current password is
// guessed under the same budgets and bounds as a sign-in (checklist E11):
// a stolen session or key is no oracle.
func (s *Users) ChangePassword(ctx context.Context, p *gatehouse.Principal, current, next string) error {
	if !p.IsPerson() {
		return errNotAPerson
	}
	u := p.User
	done, _, err := s.limits.ReservePassword(p.Addr, u.Username)
	if err != nil {
		return err
	}
	ok, malformed, err := s.hasher.Verify(ctx, u.PasswordHash, current)
	if err != nil {
		done(true)
		return err
	}
	if malformed != nil || !ok {
		done(false)
		e := s.event(p, gatehouse.AuditPasswordChange, "")
		e.Success, e.Detail = false, "wrong current password"
		s.record(ctx, e)
		return gatehouse.FieldErrorf("current_password", "The current password is wrong.")
	}
	done(true)
	if err := gatehouse.ValidatePassword("new_password", next); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.SetPassword(ctx, u.ID, hash, s.now()); err != nil {
			return err
		}
		if err := tx.DeleteUserSessions(ctx, u.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, s.event(p, gatehouse.AuditPasswordChange, ""))
	})
}

// EnsureInitialAdmin creates the first administrator on an empty database
// (first start), in the server's own name in the audit log.
func (s *Users) EnsureInitialAdmin(ctx context.Context, username, pw string) (bool, error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if err := gatehouse.ValidateName("username", username); err != nil {
		return false, err
	}
	if err := gatehouse.ValidatePassword("password", pw); err != nil {
		return false, err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return false, err
	}
	now := s.now()
	u := &gatehouse.User{Username: username, PasswordHash: hash, IsAdmin: true, CreatedAt: now, PasswordChangedAt: now}
	err = s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		e := s.event(&gatehouse.Principal{Method: gatehouse.AuthSystem}, gatehouse.AuditUserCreate, "user:"+u.Username)
		e.Detail = "admin=true first start"
		return s.audit(ctx, tx, e)
	})
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		return false, nil // another replica starting at the same moment was first
	}
	return err == nil, err
}
