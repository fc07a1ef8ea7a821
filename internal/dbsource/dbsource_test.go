package dbsource

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/introspect"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func clearEnv(t *testing.T) {
	t.Helper()
	for _, v := range EnvVars {
		t.Setenv(v, "")
	}
}

func TestKind(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct {
		opts Options
		env  string
		want Kind
	}{
		{Options{}, "", KindEmbedded},
		{Options{}, "PGHOST", KindEnv},
		{Options{}, "PGSERVICE", KindEnv},
		{Options{URL: "postgres://x@h/db"}, "PGHOST", KindURL},
		{Options{URL: "postgres://x@h/db", Snapshot: "s.json"}, "PGHOST", KindSnapshot},
	} {
		if tc.env != "" {
			t.Setenv(tc.env, "somewhere")
		}
		if got := tc.opts.Kind(); got != tc.want {
			t.Errorf("%+v with %s set: Kind %v, want %v", tc.opts, tc.env, got, tc.want)
		}
		if tc.env != "" {
			t.Setenv(tc.env, "")
		}
	}
	// Variables that only tune a connection do not select one.
	t.Setenv("PGSSLMODE", "require")
	if got := (Options{}).Kind(); got != KindEmbedded {
		t.Errorf("PGSSLMODE alone: Kind %v, want embedded", got)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://alice:s3cret@db.example:5432/app?sslmode=require": "postgres://alice:xxxxx@db.example:5432/app?sslmode=require",
		"postgresql://alice@db/app?password=s3cret":                   "postgresql://alice@db/app?password=xxxxx",
		"postgres://alice@db/app":                                     "postgres://alice@db/app",
		"host=db user=alice password=s3cret dbname=app":               "host=db user=alice password=xxxxx dbname=app",
		"host=db password = 'se cret' dbname=app":                     "host=db password = xxxxx dbname=app",
		"postgres://alice:s3cret@db:99999999/app":                     "postgres://alice:xxxxx@db:99999999/app",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorLine(t *testing.T) {
	text := "-- héllo\ncreate table a (id int);\nselec 1;\n"
	pos := strings.Index(text, "selec")
	// PostgreSQL counts characters, not bytes: é is one.
	chars := len([]rune(text[:pos])) + 1
	if got := errorLine(text, &pgconn.PgError{Position: int32(chars)}); got != 3 {
		t.Errorf("line %d, want 3", got)
	}
	if got := errorLine(text, &pgconn.PgError{}); got != 0 {
		t.Errorf("no position: line %d, want 0", got)
	}
	body := "\nbegin\n  retur 1;\nend "
	fn := "create function f() returns int language plpgsql as $$" + body + "$$;\n"
	text = "create table a (id int);\n" + fn
	if got := errorLine(text, &pgconn.PgError{InternalQuery: body, InternalPosition: int32(strings.Index(body, "retur") + 1)}); got != 4 {
		t.Errorf("function body: line %d, want 4", got)
	}
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadEmbedded(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	a := writeFile(t, dir, "a.sql", "create schema billing; create table billing.plans (id int primary key);\n")
	b := writeFile(t, dir, "b.sql", "create table public.subs (id int primary key, plan_id int references billing.plans);\ninsert into public.subs select g, null from generate_series(1, 10) g; analyze public.subs;\n")
	s, err := Load(context.Background(), Options{Schemas: []string{"public", "billing"}, SchemaFiles: []string{a, b}, Stats: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.DB.Table("billing", "plans") == nil || s.DB.Table("public", "subs") == nil {
		t.Fatalf("tables missing: %+v", s.DB.Tables)
	}
	if got := s.Stats.Tables["public.subs"].RowEstimate; got != 10 {
		t.Errorf("row estimate %d, want 10", got)
	}
	if !strings.HasPrefix(s.Source, "embedded PostgreSQL (") || !strings.Contains(s.Source, "b.sql") {
		t.Errorf("Source %q", s.Source)
	}

	// Files load in the order given: b needs a.
	_, err = Load(context.Background(), Options{Schemas: []string{"public"}, SchemaFiles: []string{b, a}})
	var fe *SchemaFileError
	if !errors.As(err, &fe) || fe.File != b {
		t.Fatalf("b before a: got %v, want a SchemaFileError for %s", err, b)
	}

	_, err = Load(context.Background(), Options{Schemas: []string{"public"}})
	if err == nil || !strings.Contains(err.Error(), "schema_files") {
		t.Errorf("no schema files: got %v", err)
	}
}

func TestLoadURL(t *testing.T) {
	clearEnv(t)
	url := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, url), "create table public.t (id int primary key)")
	s, err := Load(context.Background(), Options{URL: url, Schemas: []string{"public"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.DB.Table("public", "t") == nil || s.Stats != nil {
		t.Errorf("got %+v, stats %v", s.DB.Tables, s.Stats)
	}

	_, err = Load(context.Background(), Options{URL: url, Schemas: []string{"public", "nope"}})
	var se *SchemaError
	var nf *introspect.SchemaNotFoundError
	if !errors.As(err, &se) || !errors.As(err, &nf) || len(se.Schemas) != 1 || se.Schemas[0] != "nope" {
		t.Errorf("missing schema: got %v", err)
	}

	c, err := Connect(context.Background(), Options{Snapshot: "x.json", URL: url})
	if err == nil {
		c.Close(context.Background())
		t.Error("Connect accepted a snapshot")
	}
}

func TestLoadSnapshot(t *testing.T) {
	db := &introspect.Database{
		Schemas: []string{"auth", "public"},
		Tables: []*introspect.Table{
			{Schema: "auth", Name: "users", Columns: []*introspect.Column{}},
			{Schema: "public", Name: "calls", Columns: []*introspect.Column{}},
		},
	}
	data, err := db.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	// The --stats form: the model plus a "stats" key.
	withStats := strings.TrimSuffix(strings.TrimSpace(string(data)), "}") +
		`, "stats": {"tables": {"auth.users": {"row_estimate": 5, "total_bytes": 8192}, "public.calls": {"row_estimate": 7, "total_bytes": 8192}}}}`
	path := writeFile(t, t.TempDir(), "snap.json", withStats)

	s, err := Load(context.Background(), Options{Snapshot: path, Schemas: []string{"public"}, Stats: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.DB.Tables) != 1 || s.DB.Tables[0].Name != "calls" || len(s.DB.Schemas) != 1 {
		t.Errorf("not filtered to public: %v %+v", s.DB.Schemas, s.DB.Tables)
	}
	if s.Stats == nil || len(s.Stats.Tables) != 1 || s.Stats.Tables["public.calls"].RowEstimate != 7 {
		t.Errorf("stats: %+v", s.Stats)
	}

	_, err = Load(context.Background(), Options{Snapshot: path, Schemas: []string{"billing"}})
	var se *SchemaError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), `"billing"`) || !strings.Contains(err.Error(), "auth, public") {
		t.Errorf("missing schema in snapshot: got %v", err)
	}

	bad := writeFile(t, t.TempDir(), "bad.json", `{"not": "a snapshot"}`)
	if _, err := Load(context.Background(), Options{Snapshot: bad, Schemas: []string{"public"}}); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("bad snapshot: got %v", err)
	}
}

// TestModelCache: the embedded default reads the schema files into a
// server once; a second load of the same files reads the cached model (no
// server), equal to the first; a changed file is another key and is read
// again; WARDEN_CACHE_DIR=off never caches; a damaged entry is a miss.
func TestModelCache(t *testing.T) {
	clearEnv(t)
	cache := t.TempDir()
	t.Setenv(CacheDirEnv, cache)
	dir := t.TempDir()
	a := writeFile(t, dir, "a.sql", "create table public.plans (id int primary key);\n")
	opts := Options{Schemas: []string{"public"}, SchemaFiles: []string{a}, SchemaFileNames: []string{"a.sql"}}
	load := func() *Schema {
		t.Helper()
		s, err := Load(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := load()
	if first.Cached {
		t.Fatal("the first load came from an empty cache")
	}
	second := load()
	if !second.Cached {
		t.Fatal("the second load of unchanged files started a server")
	}
	if diff := cmp.Diff(first.DB, second.DB); diff != "" {
		t.Errorf("cached model differs (-read +cached):\n%s", diff)
	}
	if diff := cmp.Diff(first.SchemaFiles, second.SchemaFiles); diff != "" || second.Source != first.Source {
		t.Errorf("cached files or source differ: %s %q %q", diff, first.Source, second.Source)
	}

	writeFile(t, dir, "a.sql", "create table public.plans (id int primary key, name text);\n")
	changed := load()
	if changed.Cached || changed.DB.Table("public", "plans").Column("name") == nil {
		t.Errorf("after the file changed: cached %v, column name present %v", changed.Cached, changed.DB.Table("public", "plans").Column("name") != nil)
	}

	entries, err := os.ReadDir(cache)
	if err != nil || len(entries) != 2 {
		t.Fatalf("cache holds %d entries (%v), want one per version of the file", len(entries), err)
	}
	for _, e := range entries {
		if err := os.WriteFile(filepath.Join(cache, e.Name()), []byte("{not json"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if load().Cached {
		t.Error("a damaged entry was read")
	}

	t.Setenv(CacheDirEnv, "off")
	if load().Cached || load().Cached {
		t.Error("WARDEN_CACHE_DIR=off read a cached model")
	}
}
