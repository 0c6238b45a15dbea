package sqlstore

import "github.com/gatehouse-dev/gatehouse/sqlstore/sqlkit"

// The shared kit under the short names the store's files use.
var (
	wrapErr             = sqlkit.WrapErr
	uniqueViolation     = sqlkit.UniqueViolation
	foreignKeyViolation = sqlkit.ForeignKeyViolation
	notFound            = sqlkit.NotFound
	normTime            = sqlkit.NormTime
	normNullTime        = sqlkit.NormNullTime
	checkTimes          = sqlkit.CheckTimes
	textOK              = sqlkit.TextOK
	requireText         = sqlkit.RequireText
	outsideText         = sqlkit.OutsideText
	mustAffect          = sqlkit.MustAffect
	userDest            = sqlkit.UserDest
	keyDest             = sqlkit.KeyDest
	accessText          = sqlkit.AccessText
	keyColsBare         = sqlkit.KeyColsBare
	nullID              = sqlkit.NullRef
	grantRole           = sqlkit.GrantRole
)

type (
	dbTime = sqlkit.Time
)

const (
	userCols         = sqlkit.UserCols
	keyCols          = sqlkit.KeyCols
	sqliteTimeLayout = sqlkit.SQLiteTimeLayout
	maxAuditText     = sqlkit.MaxAuditText
	maxAuditInfo     = sqlkit.MaxAuditInfo
	maxUserAgent     = sqlkit.MaxUserAgent
	maxSessionIP     = sqlkit.MaxSessionIP
)
