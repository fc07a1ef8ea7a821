// Package pgtest gives each test package one throwaway PostgreSQL server
// (started in TestMain) and each test a fresh database on it.
//
// There is no skip path: when the server cannot start, the package's tests
// fail with the reason, because a test suite that quietly skips its database
// tests proves nothing.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/internal/pgtemp"
)

var (
	server    *pgtemp.Server
	dbCounter atomic.Int64

	templatesMu sync.Mutex
	templates   = map[string]*templateState{}
)

type templateState struct {
	once sync.Once
	err  error
}

// Main starts the shared server, runs the tests, stops the server and exits.
// Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	// Tests start their own servers where they load schema files: the
	// model cache (internal/dbsource) stays off unless a test turns it on,
	// so no test reads a model another run cached, and none writes to the
	// user's cache directory.
	if os.Getenv("WARDEN_CACHE_DIR") == "" {
		os.Setenv("WARDEN_CACHE_DIR", "off")
	}
	s, err := pgtemp.Start(ctx, pgtemp.Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: cannot start the test PostgreSQL server: %v\n", err)
		return 2
	}
	server = s
	defer s.Stop()
	// Ctrl-C during `go test` must not leave a server and its files behind.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		s.Stop()
		os.Exit(130)
	}()
	return m.Run()
}

// Server returns the package's shared server.
func Server(t testing.TB) *pgtemp.Server {
	t.Helper()
	if server == nil {
		t.Fatal("pgtest: no server: call pgtest.Main(m) from TestMain")
	}
	return server
}

// NewDB creates a fresh empty database and returns its URL. The database is
// dropped when the test ends.
func NewDB(t testing.TB) string {
	return newDB(t, "template0")
}

// NewDBFrom creates a fresh database copied from the template database name
// (see Template) and returns its URL.
func NewDBFrom(t testing.TB, template string) string {
	return newDB(t, template)
}

func newDB(t testing.TB, template string) string {
	t.Helper()
	s := Server(t)
	name := fmt.Sprintf("t%d_%s", dbCounter.Add(1), sanitize(t.Name()))
	ctx := context.Background()
	if err := s.CreateDatabase(ctx, name, template); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.DropDatabase(context.Background(), name); err != nil {
			t.Errorf("pgtest: dropping %s: %v", name, err)
		}
	})
	return s.URL(name)
}

// Template creates (once per package run) a template database called name,
// prepared by setup, and returns name for NewDBFrom. Tests that need the same
// starting schema share the cost of building it.
func Template(t testing.TB, name string, setup func(ctx context.Context, conn *pgx.Conn) error) string {
	t.Helper()
	s := Server(t)
	templatesMu.Lock()
	st, ok := templates[name]
	if !ok {
		st = &templateState{}
		templates[name] = st
	}
	templatesMu.Unlock()
	st.once.Do(func() {
		ctx := context.Background()
		if err := s.CreateDatabase(ctx, name, "template0"); err != nil {
			st.err = err
			return
		}
		conn, err := pgx.Connect(ctx, s.URL(name))
		if err != nil {
			st.err = err
			return
		}
		defer conn.Close(ctx)
		st.err = setup(ctx, conn)
	})
	if st.err != nil {
		t.Fatalf("pgtest: preparing template %s: %v", name, st.err)
	}
	return name
}

// Connect opens a connection closed at test end.
func Connect(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Exec runs sql (possibly several statements) and fails the test on error.
func Exec(t testing.TB, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("exec: %v\n%s", err, sql)
	}
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}
