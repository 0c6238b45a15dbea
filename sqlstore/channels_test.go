package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// The Store has no way to delete a channel or a user yet; these tests
// delete rows directly to check what the schema does when a parent goes.

func mustDo(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testPkg(channelID, uploader int64, subdir, filename string) *gatehouse.Package {
	return &gatehouse.Package{ChannelID: channelID, Subdir: subdir, Filename: filename, Name: "x", Version: "1", Build: "0",
		Size: 1, MD5: strings.Repeat("0", 32), SHA256: strings.Repeat("0", 64),
		Record: []byte(`{"name":"x"}`), BlobKey: "blob/" + subdir + "/" + filename, Uploader: uploader}
}

func count(t testing.TB, db *DB, table string, channelID int64) int {
	t.Helper()
	var n int
	mustDo(t, db.SQL().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table+` WHERE channel_id = $1`, channelID).Scan(&n))
	return n
}

func TestDeletingAChannelDeletesItsGrantsAndPackages(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		db := mustOpen(t, dsn)
		alice := &gatehouse.User{Username: "alice"}
		bob := &gatehouse.User{Username: "bob"}
		mustDo(t, db.CreateUser(ctx, alice))
		mustDo(t, db.CreateUser(ctx, bob))
		c := &gatehouse.Channel{Name: "tools", OwnerUserID: alice.ID}
		keep := &gatehouse.Channel{Name: "keep", OwnerUserID: alice.ID}
		mustDo(t, db.CreateChannel(ctx, c))
		mustDo(t, db.CreateChannel(ctx, keep))
		mustDo(t, db.PutChannelGrant(ctx, c.ID, bob.ID, gatehouse.ChannelRead, time.Time{}))
		mustDo(t, db.PutChannelGrant(ctx, keep.ID, bob.ID, gatehouse.ChannelRead, time.Time{}))
		_, err := db.AddPackage(ctx, testPkg(c.ID, alice.ID, "noarch", "x-1-0.conda"), false)
		mustDo(t, err)
		_, err = db.AddPackage(ctx, testPkg(keep.ID, alice.ID, "noarch", "y-1-0.conda"), false)
		mustDo(t, err)

		_, err = db.SQL().ExecContext(ctx, `DELETE FROM channels WHERE id = $1`, c.ID)
		mustDo(t, err)
		if n := count(t, db, "channel_grants", c.ID); n != 0 {
			t.Errorf("%d grants left of the deleted channel", n)
		}
		if n := count(t, db, "packages", c.ID); n != 0 {
			t.Errorf("%d packages left of the deleted channel", n)
		}
		if used, err := db.BlobKeyInUse(ctx, "blob/noarch/x-1-0.conda"); err != nil || used {
			t.Errorf("the deleted channel's blob key in use: %v, %v", used, err)
		}
		if count(t, db, "channel_grants", keep.ID) != 1 || count(t, db, "packages", keep.ID) != 1 {
			t.Error("deleting one channel touched another's grants or packages")
		}
	})
}

func TestDeletingAUserKeepsTheirPackagesAndClientsButNotTheirChannels(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		db := mustOpen(t, dsn)
		alice := &gatehouse.User{Username: "alice"}
		bob := &gatehouse.User{Username: "bob"}
		mustDo(t, db.CreateUser(ctx, alice))
		mustDo(t, db.CreateUser(ctx, bob))
		c := &gatehouse.Channel{Name: "tools", OwnerUserID: alice.ID}
		mustDo(t, db.CreateChannel(ctx, c))
		mustDo(t, db.PutChannelGrant(ctx, c.ID, bob.ID, gatehouse.ChannelWrite, time.Time{}))
		_, err := db.AddPackage(ctx, testPkg(c.ID, bob.ID, "noarch", "x-1-0.conda"), false)
		mustDo(t, err)
		k := &gatehouse.APIKey{UserID: bob.ID, Name: "ci", Hash: make([]byte, 32), Scopes: gatehouse.ScopeChannels,
			ExpiresAt: time.Now().Add(time.Hour)}
		_, err = db.CreateKey(ctx, k)
		mustDo(t, err)
		mustDo(t, db.RecordClient(ctx, &gatehouse.Client{KeyID: k.ID, KeyName: "ci", UserID: bob.ID, Username: "bob",
			IP: "192.0.2.1", UserAgent: "conda", Requests: 1}))

		_, err = db.SQL().ExecContext(ctx, `DELETE FROM users WHERE id = $1`, bob.ID)
		mustDo(t, err)
		p, err := db.PackageByFilename(ctx, c.ID, "noarch", "x-1-0.conda")
		mustDo(t, err)
		if p.Uploader != 0 {
			t.Errorf("Uploader = %d after the uploader was deleted, want 0", p.Uploader)
		}
		if n := count(t, db, "channel_grants", c.ID); n != 0 {
			t.Errorf("%d grants left of the deleted user", n)
		}
		cs, err := db.ListClients(ctx, gatehouse.ClientFilter{})
		mustDo(t, err)
		if len(cs) != 1 || cs[0].Username != "bob" {
			t.Errorf("clients after the user was deleted: %d, want bob's one", len(cs))
		}

		// A channel's owner cannot go while the channel exists: losing
		// packages must be a decision.
		_, err = db.SQL().ExecContext(ctx, `DELETE FROM users WHERE id = $1`, alice.ID)
		if !foreignKeyViolation(err) {
			t.Errorf("deleting a channel's owner: %v, want a foreign key violation", err)
		}
	})
}

// openRaw opens the database without migrating it.
func openRaw(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	driver, source := "pgx", dsn
	if !strings.HasPrefix(dsn, "postgres") {
		q, err := sqliteQuery("")
		mustDo(t, err)
		driver, source = "sqlite", "file:"+dsn+"?"+q
	}
	raw, err := sql.Open(driver, source)
	mustDo(t, err)
	t.Cleanup(func() { raw.Close() })
	return raw
}

func TestUpgradeFromTheFirstSchemaKeepsDataAndAddsChannels(t *testing.T) { // checklist H5
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		raw := openRaw(t, dsn)
		dialect := SQLite
		if strings.HasPrefix(dsn, "postgres") {
			dialect = Postgres
		}
		// The database as the release before channels left it.
		first := mustMigrations(t, dialect)[0]
		for _, q := range []string{
			`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
			first.sql,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'init', '2026-01-01T00:00:00.000000Z')`,
			`INSERT INTO names (name, kind) VALUES ('alice', 'user')`,
			`INSERT INTO users (username, created_at) VALUES ('alice', '2026-01-01T00:00:00.000000Z')`,
		} {
			_, err := raw.ExecContext(ctx, q)
			mustDo(t, err)
		}
		raw.Close()

		db := mustOpen(t, dsn)
		v, err := db.SchemaVersion(ctx)
		mustDo(t, err)
		if ms := mustMigrations(t, dialect); v != ms[len(ms)-1].version {
			t.Errorf("schema version %d after the upgrade, want %d", v, ms[len(ms)-1].version)
		}
		alice, err := db.UserByName(ctx, "alice")
		mustDo(t, err)
		c := &gatehouse.Channel{Name: "tools", OwnerUserID: alice.ID}
		mustDo(t, db.CreateChannel(ctx, c))
		if c.Owner != "alice" || c.Revision != 1 {
			t.Errorf("channel created after the upgrade: owner %q, revision %d", c.Owner, c.Revision)
		}
	})
}

// seedPackages adds n packages to the channel's subdir in one transaction,
// with records of about the size real ones have.
func seedPackages(b *testing.B, db *DB, channelID int64, subdir string, n int) {
	b.Helper()
	ctx := context.Background()
	record := []byte(`{"build":"py312h5eee18b_0","build_number":0,"depends":["libgcc-ng >=11.2.0","python >=3.12,<3.13.0a0",` +
		`"numpy >=1.26"],"license":"BSD-3-Clause","md5":"0123456789abcdef0123456789abcdef","name":"pkg","sha256":` +
		`"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","size":123456,"subdir":"linux-64",` +
		`"timestamp":1714000000000,"version":"1.0.0"}`)
	meta := []byte(`{"run_exports":{"weak":["pkg >=1.0"]},"about":{"home":"https://example.com"}}`)
	err := db.inTx(ctx, "seed packages", func(tx *sql.Tx) error {
		for i := range n {
			fn := fmt.Sprintf("pkg%05d-1.0.0-py312h5eee18b_0.conda", i)
			if _, err := tx.ExecContext(ctx, `INSERT INTO packages
				(channel_id, subdir, filename, name, version, build, size, md5, sha256, record, meta, blob_key, uploader, created_at)
				VALUES ($1, $2, $3, $4, '1.0.0', 'py312h5eee18b_0', 123456, $5, $6, $7, $8, $9, NULL, $10)`,
				channelID, subdir, fn, fmt.Sprintf("pkg%05d", i), strings.Repeat("0", 32), strings.Repeat("0", 64),
				record, meta, "blob/"+subdir+"/"+fn, db.tv(time.Now())); err != nil {
				return err
			}
		}
		return nil
	})
	mustDo(b, err)
}

var benchBackends = []struct {
	name string
	open func(testing.TB) *DB
}{
	{"sqlite", openSQLiteTest},
	{"postgres", openPostgresTest},
}

// BenchmarkChannelRoleOf measures the role lookup on the request path, for
// a member of the organization that owns the channel who also holds a
// grant: every source of the role is read.
func BenchmarkChannelRoleOf(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			db := be.open(b)
			ctx := context.Background()
			owner := &gatehouse.User{Username: "owner"}
			mustDo(b, db.CreateUser(ctx, owner))
			org := &gatehouse.Org{Name: "acme"}
			mustDo(b, db.CreateOrg(ctx, org, owner.ID))
			c := &gatehouse.Channel{Name: "acme-ch", OwnerOrgID: org.ID}
			mustDo(b, db.CreateChannel(ctx, c))
			// Enough members and grants that the lookups go through indexes.
			users := make([]int64, 200)
			for i := range users {
				u := &gatehouse.User{Username: fmt.Sprintf("u%03d", i)}
				mustDo(b, db.CreateUser(ctx, u))
				mustDo(b, db.PutOrgMember(ctx, org.ID, u.ID, gatehouse.OrgMember))
				mustDo(b, db.PutChannelGrant(ctx, c.ID, u.ID, gatehouse.ChannelWrite, time.Time{}))
				users[i] = u.ID
			}
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				r, err := db.ChannelRoleOf(ctx, c.ID, users[i%len(users)])
				if err != nil || r != gatehouse.ChannelWrite {
					b.Fatalf("ChannelRoleOf = %v, %v; want write", r, err)
				}
				i++
			}
		})
	}
}

// BenchmarkListPackages measures listing one subdir of 10,000 packages,
// records included: what a repodata rebuild reads.
func BenchmarkListPackages(b *testing.B) {
	const n = 10_000
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			db := be.open(b)
			ctx := context.Background()
			u := &gatehouse.User{Username: "alice"}
			mustDo(b, db.CreateUser(ctx, u))
			c := &gatehouse.Channel{Name: "big", OwnerUserID: u.ID}
			mustDo(b, db.CreateChannel(ctx, c))
			seedPackages(b, db, c.ID, "linux-64", n)
			seedPackages(b, db, c.ID, "noarch", 100) // another subdir the query must skip
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				ps, err := db.ListPackages(ctx, c.ID, "linux-64")
				if err != nil || len(ps) != n {
					b.Fatalf("ListPackages = %d packages, %v; want %d", len(ps), err, n)
				}
			}
		})
	}
}
