package pgtemp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestStartQueryStop(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := s.Dir()
	if err := s.CreateDatabase(ctx, "app", ""); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, s.URL("app"))
	if err != nil {
		t.Fatal(err)
	}
	var user string
	var version int
	if err := conn.QueryRow(ctx, "select current_user, current_setting('server_version_num')::int").Scan(&user, &version); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if user != "postgres" || version < 120000 {
		t.Fatalf("user %q version %d", user, version)
	}
	s.Stop()
	s.Stop() // idempotent
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("directory %s still there after Stop: %v", dir, err)
	}
}

func TestNoBinaries(t *testing.T) {
	empty := t.TempDir()
	if _, err := Start(context.Background(), Options{BinDir: empty}); !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("explicit empty bin dir: got %v, want ErrNoBinaries", err)
	}
	t.Setenv(BinDirEnv, empty)
	if _, err := FindBinDir(); !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("%s empty: got %v", BinDirEnv, err)
	}
	// Nothing on PATH, no pg_config, no Debian directory.
	t.Setenv(BinDirEnv, "")
	t.Setenv("PATH", empty)
	old := debianGlob
	debianGlob = empty + "/*/bin"
	defer func() { debianGlob = old }()
	_, err := FindBinDir()
	if !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("got %v, want ErrNoBinaries", err)
	}
	if !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("message should say DATABASE_URL is an alternative: %v", err)
	}
}

func TestFindBinDirOnThisMachine(t *testing.T) {
	dir, err := FindBinDir()
	if err != nil {
		t.Fatal(err)
	}
	if !isExec(filepath.Join(dir, "postgres")) {
		t.Fatalf("%s has no postgres", dir)
	}
}

// TestAuthMethod checks that AuthMethod makes the server ask other roles for
// a password while the superuser, which the harness uses, still gets in.
func TestAuthMethod(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, Options{AuthMethod: "scram-sha-256"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if err := s.CreateDatabase(ctx, "app", ""); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, s.URL("app"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `CREATE ROLE alice LOGIN PASSWORD 'right'`)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	url := func(pw string) string {
		return fmt.Sprintf("postgres://alice:%s@/app?host=%s&port=%d&sslmode=disable", pw, s.Dir(), s.Port())
	}
	_, err = pgx.Connect(ctx, url("wrong"))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Fatalf("wrong password: got %v, want SQLSTATE 28P01", err)
	}
	good, err := pgx.Connect(ctx, url("right"))
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	good.Close(ctx)
}
