package sqlstore

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/sqlstore/sqlkit"
)

// tv encodes t for a NOT NULL time column.
func (db *DB) tv(t time.Time) any { return sqlkit.TV(db.dialect, t) }

// ntv encodes t for a nullable time column: the zero time is NULL.
func (db *DB) ntv(t time.Time) any { return sqlkit.NTV(db.dialect, t) }
