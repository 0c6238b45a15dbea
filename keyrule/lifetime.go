package keyrule

import (
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// ApplyPolicyUpdate returns pol with u applied, checked: a server policy
// keeps keys between one day and one year, an organization's (org) may
// also be 0 (the server's rule applies).
func ApplyPolicyUpdate(pol gatehouse.KeyPolicy, u gatehouse.PolicyUpdate, org bool) (gatehouse.KeyPolicy, error) {
	min := 1
	if org {
		min = 0
	}
	if v := u.MaxKeyLifetimeDays; v != nil {
		if *v < min || *v > gatehouse.DefaultMaxKeyLifetimeDays {
			return pol, gatehouse.FieldErrorf("max_key_lifetime_days", "max_key_lifetime_days must be from %d to %d days.", min, gatehouse.DefaultMaxKeyLifetimeDays)
		}
		pol.MaxKeyLifetimeDays = *v
	}
	if v := u.ExpiryWarningDays; v != nil {
		if *v < min || *v > 90 {
			return pol, gatehouse.FieldErrorf("expiry_warning_days", "expiry_warning_days must be from %d to 90 days.", min)
		}
		pol.ExpiryWarningDays = *v
	}
	return pol, nil
}

// StrictestLifetime returns the rule with the shortest Max; rules must
// not be empty.
func StrictestLifetime(rules []gatehouse.LifetimeRule) gatehouse.LifetimeRule {
	best := rules[0]
	for _, r := range rules[1:] {
		if r.Max < best.Max {
			best = r
		}
	}
	return best
}

// CheckLifetime refuses an expiry beyond the strictest rule, with a
// message naming the policy.
func CheckLifetime(now, expiresAt time.Time, rule gatehouse.LifetimeRule) error {
	if expiresAt.Sub(now) <= rule.Max {
		return nil
	}
	days := int(rule.Max / (24 * time.Hour))
	return gatehouse.FieldErrorf("expires_at", "The key policy of %s allows keys of at most %d days: choose a date no later than %s.",
		rule.Source, days, now.Add(rule.Max).UTC().Format(time.DateOnly))
}
