// Package dbsource decides where warden reads a schema from and reads it.
//
// The sources, in the order they are chosen:
//
//  1. a snapshot file (--snapshot FILE, a JSON model written by
//     `warden inspect --out`): no database at all;
//  2. an explicit connection string (--database-url or DATABASE_URL);
//  3. the libpq PG* variables (PGHOST, PGPORT, PGDATABASE, PGUSER,
//     PGPASSWORD, PGSERVICE, PGHOSTADDR), read by pgx as libpq would;
//  4. the embedded default: a throwaway PostgreSQL (internal/pgtemp) into
//     which the policy's schema files are loaded, in order, and which is
//     stopped when the caller is done.
//
// Commands that need the schema model call Load; commands that need a live
// connection (status, backfill) call Connect. Failures to reach or log in to
// the server come back as *ConnError, worded for a user and free of
// passwords.
package dbsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/internal/pgtemp"
	"github.com/warden-sql/warden/introspect"
)

// Kind says which source Options select.
type Kind int

// The sources, in the order Options.Kind prefers them.
const (
	KindSnapshot Kind = iota + 1 // Options.Snapshot
	KindURL                      // Options.URL
	KindEnv                      // libpq PG* environment variables
	KindEmbedded                 // throwaway server loaded with Options.SchemaFiles
)

// String names the source kind for messages.
func (k Kind) String() string {
	switch k {
	case KindSnapshot:
		return "snapshot"
	case KindURL:
		return "database URL"
	case KindEnv:
		return "PG* environment"
	case KindEmbedded:
		return "embedded PostgreSQL"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// EnvVars are the libpq variables that name a database to connect to; when
// any is set (and no URL is given), warden connects instead of starting the
// embedded server. Variables that only tune a connection (PGSSLMODE,
// PGOPTIONS, PGAPPNAME...) do not count: they are often set globally and
// should not turn a fresh checkout's `warden inspect` into a connection to
// localhost. pgx still honours them once a connection is made.
var EnvVars = []string{"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSERVICE"}

// DefaultConnectTimeout bounds a connection attempt when the connection
// string sets no connect_timeout, so an unreachable host fails with a
// message instead of hanging.
const DefaultConnectTimeout = 15 * time.Second

// Options say where the schema comes from.
type Options struct {
	// Snapshot is a JSON snapshot file (from `warden inspect --out`). When
	// set it wins: no database is used.
	Snapshot string
	// URL is a connection string (URL or key=value form), from
	// --database-url or DATABASE_URL.
	URL string
	// Schemas are the schemas to read (the policy's, or --schema). Required
	// by Load.
	Schemas []string
	// SchemaFiles are the SQL files loaded, in order, into the embedded
	// server (the policy's schema_files, resolved to paths), and
	// SchemaFileNames the same files as the policy names them: a model
	// read from them records their sums under those names, and a snapshot
	// that recorded sums is checked against the files it names.
	SchemaFiles     []string
	SchemaFileNames []string
	// Stats asks Load for row estimates as well, and Sizes for the
	// tables' sizes beside them (costly on a large catalog).
	Stats, Sizes bool
	// ServerOptions configure the embedded server; the zero value is fine.
	ServerOptions pgtemp.Options
}

// Kind reports the source these options select.
func (o Options) Kind() Kind {
	switch {
	case o.Snapshot != "":
		return KindSnapshot
	case o.URL != "":
		return KindURL
	case envSet():
		return KindEnv
	}
	return KindEmbedded
}

func envSet() bool {
	for _, v := range EnvVars {
		if os.Getenv(v) != "" {
			return true
		}
	}
	return false
}

// Schema is what Load read.
type Schema struct {
	// DB is the structural model.
	DB *introspect.Database
	// Stats are the row estimates and sizes: nil unless Options.Stats was
	// set, and nil for a snapshot written without them.
	Stats *introspect.Stats
	// Source describes where the model came from, for messages and reports
	// (never contains a password).
	Source string
	// SchemaFiles are the schema files the model was read from, with their
	// sums (the embedded default only), for the snapshot inspect writes.
	SchemaFiles []introspect.SchemaFileSum
	// Cached: the embedded default's model came from the model cache (see
	// cache.go), no server was started.
	Cached bool
}

// StaleSnapshotError is a snapshot read from schema files that have
// changed since: what it says of the schema is out of date.
type StaleSnapshotError struct {
	Snapshot string
	Changed  []string // the files' names as the policy gives them
}

func (e *StaleSnapshotError) Error() string {
	return fmt.Sprintf("snapshot %s is stale: it was read from schema files that changed since (%s); refresh it with warden inspect --out %s, then run the command again",
		e.Snapshot, strings.Join(e.Changed, ", "), e.Snapshot)
}

// fileSums returns the SHA-256 of each path, under the matching name.
func fileSums(paths, names []string) ([]introspect.SchemaFileSum, error) {
	var out []introspect.SchemaFileSum
	for i, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		name := p
		if i < len(names) {
			name = names[i]
		}
		sum := sha256.Sum256(data)
		out = append(out, introspect.SchemaFileSum{Name: name, SHA256: hex.EncodeToString(sum[:])})
	}
	return out, nil
}

// Load reads the schema model of opts.Schemas from the source opts select,
// and releases everything it started (connection, embedded server) before
// returning.
func Load(ctx context.Context, opts Options) (*Schema, error) {
	if len(opts.Schemas) == 0 {
		return nil, errors.New("no schemas to read: name them in the policy's schemas: or with --schema")
	}
	if opts.Kind() == KindSnapshot {
		return loadSnapshot(opts)
	}
	cacheable := opts.Kind() == KindEmbedded && !opts.Stats
	if cacheable {
		if s, ok := readCached(opts); ok {
			return s, nil
		}
	}
	conn, err := Connect(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	db, err := introspect.Inspect(ctx, conn, opts.Schemas)
	if err != nil {
		return nil, conn.explain(ctx, err)
	}
	s := &Schema{DB: db, Source: conn.Source}
	if conn.Kind == KindEmbedded {
		if s.SchemaFiles, err = fileSums(opts.SchemaFiles, opts.SchemaFileNames); err != nil {
			return nil, err
		}
	}
	if opts.Stats {
		if s.Stats, err = introspect.InspectStats(ctx, conn, db, opts.Sizes); err != nil {
			return nil, conn.explain(ctx, err)
		}
	}
	if cacheable {
		writeCached(opts, s)
	}
	return s, nil
}

// Conn is an open connection to the selected database. Close it: for the
// embedded default it also stops the throwaway server.
type Conn struct {
	*pgx.Conn
	// Kind is the source that was used.
	Kind Kind
	// Source describes the database for messages (never contains a password).
	Source string
	server *pgtemp.Server
}

// Close closes the connection and stops the embedded server if there is
// one. It is safe to call more than once.
func (c *Conn) Close(ctx context.Context) {
	if c.Conn != nil {
		_ = c.Conn.Close(ctx)
	}
	if c.server != nil {
		c.server.Stop()
	}
}

// Connect opens a connection to the database opts select: the URL, the PG*
// variables or, with neither, a throwaway server loaded with
// opts.SchemaFiles. A snapshot is not a database: Connect refuses it.
func Connect(ctx context.Context, opts Options) (*Conn, error) {
	switch k := opts.Kind(); k {
	case KindSnapshot:
		return nil, fmt.Errorf("this command needs a database, not a snapshot (%s): drop --snapshot and set --database-url, DATABASE_URL or PG* variables", opts.Snapshot)
	case KindURL:
		cfg, err := pgx.ParseConfig(opts.URL)
		if err != nil {
			return nil, &ConnError{Msg: fmt.Sprintf("invalid database URL %s: %s", Redact(opts.URL), parseReason(err, opts.URL)), Err: err}
		}
		return dial(ctx, cfg, k, Redact(opts.URL))
	case KindEnv:
		cfg, err := pgx.ParseConfig("")
		if err != nil {
			return nil, &ConnError{Msg: "invalid PG* environment variables: " + parseReason(err, ""), Err: err}
		}
		return dial(ctx, cfg, k, "PG* environment ("+target(&cfg.Config)+")")
	default:
		return startEmbedded(ctx, opts)
	}
}

func dial(ctx context.Context, cfg *pgx.ConnConfig, k Kind, source string) (*Conn, error) {
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, explainConnect(ctx, cfg, err)
	}
	return &Conn{Conn: conn, Kind: k, Source: source}, nil
}

// explain turns an error of a query on c into the error to report: a
// missing schema named with the source, a context cancellation as is.
func (c *Conn) explain(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var nf *introspect.SchemaNotFoundError
	if errors.As(err, &nf) {
		return &SchemaError{Schemas: nf.Schemas, Source: c.Source, Err: err}
	}
	return err
}

// SchemaError reports schemas that were asked for but are not in the source.
type SchemaError struct {
	Schemas []string
	Source  string
	Err     error // the underlying *introspect.SchemaNotFoundError, if any
}

// Error names the missing schemas and the source they were looked for in.
func (e *SchemaError) Error() string {
	q := make([]string, len(e.Schemas))
	for i, s := range e.Schemas {
		q[i] = fmt.Sprintf("%q", s)
	}
	what := "schema " + strings.Join(q, ", ") + " does not exist"
	if len(q) > 1 {
		what = "schemas " + strings.Join(q, ", ") + " do not exist"
	}
	return what + " in " + e.Source + " (check --schema or the policy's schemas:)"
}

// Unwrap returns the introspect error, if any.
func (e *SchemaError) Unwrap() error { return e.Err }

// loadSnapshot reads opts.Snapshot and keeps the tables of opts.Schemas.
func loadSnapshot(opts Options) (*Schema, error) {
	data, err := os.ReadFile(opts.Snapshot)
	if err != nil {
		return nil, fmt.Errorf("cannot read snapshot: %w (write one with warden inspect --out FILE)", err)
	}
	db, stats, recorded, err := introspect.ReadSnapshotFull(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Snapshot, err)
	}
	// A snapshot read from schema files is current only while they are
	// unchanged: compare the files the policy still names.
	if len(recorded) > 0 && len(opts.SchemaFileNames) > 0 {
		now, err := fileSums(opts.SchemaFiles, opts.SchemaFileNames)
		if err != nil {
			return nil, err
		}
		sums := map[string]string{}
		for _, f := range now {
			sums[f.Name] = f.SHA256
		}
		var changed []string
		for _, f := range recorded {
			if sums[f.Name] != f.SHA256 {
				changed = append(changed, f.Name)
			}
		}
		if len(changed) > 0 {
			return nil, &StaleSnapshotError{Snapshot: opts.Snapshot, Changed: changed}
		}
	}
	source := "snapshot " + opts.Snapshot
	var missing []string
	keep := map[string]bool{}
	for _, s := range opts.Schemas {
		keep[s] = true
		if !slices.Contains(db.Schemas, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return nil, &SchemaError{Schemas: missing, Source: source + " (it holds " + strings.Join(db.Schemas, ", ") + ")"}
	}
	// A snapshot may hold more schemas than asked for; keep only those asked
	// for, so the model is the one a database would have given.
	out := &introspect.Database{Tables: []*introspect.Table{}}
	for _, s := range db.Schemas {
		if keep[s] {
			out.Schemas = append(out.Schemas, s)
		}
	}
	for _, t := range db.Tables {
		if keep[t.Schema] {
			out.Tables = append(out.Tables, t)
		}
	}
	for _, v := range db.Views {
		if keep[v.Schema] {
			out.Views = append(out.Views, v)
		}
	}
	s := &Schema{DB: out, Source: source}
	if opts.Stats && stats != nil {
		s.Stats = &introspect.Stats{Tables: map[string]introspect.TableStats{}}
		for _, t := range out.Tables {
			if ts, ok := stats.Tables[t.QualifiedName()]; ok {
				s.Stats.Tables[t.QualifiedName()] = ts
			}
		}
	}
	return s, nil
}
