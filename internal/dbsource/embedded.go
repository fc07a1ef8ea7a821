package dbsource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warden-sql/warden/internal/pgtemp"
)

// embeddedDB is the database created in the throwaway server.
const embeddedDB = "warden"

// SchemaFileError is a schema file that PostgreSQL rejected while loading
// the embedded default.
type SchemaFileError struct {
	File string // the path as given in Options.SchemaFiles
	Line int    // 1-based; 0 when PostgreSQL gave no position
	Err  error  // the *pgconn.PgError, or the read error
}

// Error formats the error as "loading file:line: message (SQLSTATE code)".
func (e *SchemaFileError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	var pgErr *pgconn.PgError
	if errors.As(e.Err, &pgErr) {
		msg := pgErr.Message + " (SQLSTATE " + pgErr.Code + ")"
		if e.Line == 0 && pgErr.Where != "" {
			msg += " in " + oneLine(pgErr.Where)
		}
		return "loading " + loc + ": " + msg
	}
	return "loading " + loc + ": " + e.Err.Error()
}

// Unwrap returns the *pgconn.PgError or the read error.
func (e *SchemaFileError) Unwrap() error { return e.Err }

// startEmbedded starts a throwaway server, loads opts.SchemaFiles into a
// fresh database and connects to it. The returned Conn stops the server on
// Close; on error nothing is left running.
func startEmbedded(ctx context.Context, opts Options) (_ *Conn, err error) {
	if len(opts.SchemaFiles) == 0 {
		return nil, errors.New("no database given (--database-url, DATABASE_URL or PG* variables) and the policy lists no schema_files to load into a throwaway PostgreSQL")
	}
	srv, err := pgtemp.Start(ctx, opts.ServerOptions)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	c := &Conn{Kind: KindEmbedded, Source: embeddedSource(opts), server: srv}
	defer func() {
		if err != nil {
			c.Close(context.WithoutCancel(ctx))
			if ctx.Err() != nil {
				err = ctx.Err()
			}
		}
	}()
	if err := srv.CreateDatabase(ctx, embeddedDB, ""); err != nil {
		return nil, err
	}
	if c.Conn, err = pgx.Connect(ctx, srv.URL(embeddedDB)); err != nil {
		return nil, fmt.Errorf("embedded PostgreSQL: %w", err)
	}
	for _, file := range opts.SchemaFiles {
		if err := loadFile(ctx, c.Conn, file); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// loadFile runs one schema file as a single multi-statement simple query,
// as psql -1 would, and maps an error position back to a line of the file.
func loadFile(ctx context.Context, conn *pgx.Conn, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return &SchemaFileError{File: file, Err: err}
	}
	text := string(data)
	// Exec without arguments uses the simple query protocol, which accepts
	// several statements in one string.
	if _, err := conn.Exec(ctx, text); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e := &SchemaFileError{File: file, Err: err}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			e.Line = errorLine(text, pgErr)
		}
		return e
	}
	return nil
}

// errorLine converts PostgreSQL's error position (1-based, counted in
// characters over the whole query string) to a 1-based line of text. An
// error inside a function body carries its position within that body
// (InternalQuery); when the body is found in the file, it is mapped too.
func errorLine(text string, e *pgconn.PgError) int {
	pos := int(e.Position)
	if pos <= 0 && e.InternalPosition > 0 && e.InternalQuery != "" {
		if i := strings.Index(text, e.InternalQuery); i >= 0 {
			pos = utf8.RuneCountInString(text[:i]) + int(e.InternalPosition)
		}
	}
	if pos <= 0 {
		return 0
	}
	line, n := 1, 1
	for _, r := range text {
		if n >= pos {
			break
		}
		if r == '\n' {
			line++
		}
		n++
	}
	return line
}
