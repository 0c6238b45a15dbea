package gatehouse

import "time"

// AuditEvent records one security-relevant action. Events are append-only.
type AuditEvent struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	ActorID int64     `json:"actor_id,omitempty"` // 0 when nobody signed in
	Actor   string    `json:"actor"`              // username, or the name tried
	Action  string    `json:"action"`
	Target  string    `json:"target,omitempty"` // e.g. "key:12 (ci)", "user:alice"
	IP      string    `json:"ip,omitempty"`
	Success bool      `json:"success"`
	Detail  string    `json:"detail,omitempty"`
}

// Audit actions.
const (
	AuditSignIn          = "auth.signin"
	AuditSignOut         = "auth.signout"
	AuditPasswordChange  = "auth.password_change"
	AuditKeyCreate       = "key.create"
	AuditKeyReplace      = "key.replace"
	AuditKeyRevoke       = "key.revoke"
	AuditKeyUseRevoked   = "key.use_after_revoke"
	AuditUserCreate      = "user.create"
	AuditUserUpdate      = "user.update"
	AuditOrgCreate       = "org.create"
	AuditOrgMemberPut    = "org.member_put"
	AuditOrgMemberRemove = "org.member_remove"
	AuditChannelCreate   = "channel.create"
	AuditChannelUpdate   = "channel.update"
	AuditChannelGrant    = "channel.grant"
	AuditChannelRevoke   = "channel.revoke"
	AuditChannelSync     = "channel.sync"
	AuditPackageUpload   = "package.upload"
	AuditPackageDelete   = "package.delete"
	AuditNetworkRuleAdd  = "network_rule.create"
	AuditNetworkRuleDel  = "network_rule.delete"
	AuditOAuthApprove    = "oauth.approve"
	AuditOAuthDeny       = "oauth.deny"
	AuditOAuthToken      = "oauth.token" // Success false: a failed exchange

	AuditPolicyUpdate     = "policy.update"
	AuditOrgKeyCreate     = "org_key.create"
	AuditOrgKeyRevoke     = "org_key.revoke"
	AuditSSOConfig        = "sso.config"
	AuditSSODomainConfirm = "sso.domain_confirm"
	AuditSSODomainReject  = "sso.domain_reject"
	AuditSSOSignIn        = "sso.signin" // Success false: a refused sign-in
	AuditSSOSync          = "sso.sync"   // roles and grants changed by provider groups
	AuditPublisherAdd     = "trusted_publisher.create"
	AuditPublisherRemove  = "trusted_publisher.delete"
	AuditTrustedExchange  = "trusted_publishing.exchange" // Success false: refused
	AuditRegTokenCreate   = "registration_token.create"
	AuditRegTokenRevoke   = "registration_token.revoke"
)

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	ActorID  int64  // 0: any
	Action   string // "": any
	BeforeID int64  // 0: from the newest; else events with ID < BeforeID
	Limit    int    // 0: a default of 100; at most 1000
}
