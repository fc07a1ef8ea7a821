package pgtemp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
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
