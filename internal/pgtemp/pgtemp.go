// Package pgtemp starts a throwaway PostgreSQL server from the server
// binaries installed on the machine: initdb into a temporary directory, a
// postgres process listening only on a unix socket in that directory, and a
// Stop that kills the process and removes every file.
//
// warden uses it for the "embedded default" (no database given: load the
// policy's schema files into a scratch server and introspect that) and the
// test suite uses it as its real database. PostgreSQL refuses to run as root,
// so when the caller is root (CI is) the server runs as an unprivileged OS
// user instead.
package pgtemp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoBinaries is returned (wrapped) when initdb/postgres cannot be found.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found (initdb, postgres): install the PostgreSQL server package (e.g. apt-get install postgresql) or set DATABASE_URL to use an existing database")

// debianGlob is where Debian and Ubuntu install the server binaries.
var debianGlob = "/usr/lib/postgresql/*/bin"

// Server is a running throwaway PostgreSQL instance.
type Server struct {
	dir    string // temporary root: data/, the socket and the log
	port   int
	user   string // database superuser name
	cmd    *exec.Cmd
	done   chan struct{}
	once   sync.Once
	waitMu sync.Mutex
	err    error
}

// Options tunes Start. The zero value is fine.
type Options struct {
	// BinDir forces the directory holding initdb and postgres.
	BinDir string
	// Settings are extra server settings passed as -c name=value.
	Settings map[string]string
	// AuthMethod, when set (e.g. "scram-sha-256"), is the pg_hba.conf method
	// every role but the superuser must pass on the socket. The superuser
	// keeps trust so that the harness (CreateDatabase, Stop, waitReady)
	// needs no password. Empty means trust for everyone, as before; tests of
	// password failures need a server that actually checks passwords.
	AuthMethod string
}

// BinDirEnv names the environment variable that forces the directory of the
// server binaries (when several versions are installed, or for tests).
const BinDirEnv = "WARDEN_POSTGRES_BINDIR"

// FindBinDir locates the directory of the PostgreSQL server binaries:
// $WARDEN_POSTGRES_BINDIR when set, else on PATH, then `pg_config --bindir`,
// then the newest /usr/lib/postgresql/*/bin (Debian keeps them there, off PATH).
func FindBinDir() (string, error) {
	if dir := os.Getenv(BinDirEnv); dir != "" {
		if isExec(filepath.Join(dir, "initdb")) && isExec(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
		return "", fmt.Errorf("%s=%s has no initdb and postgres: %w", BinDirEnv, dir, ErrNoBinaries)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if isExec(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if isExec(filepath.Join(dir, "initdb")) && isExec(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob(debianGlob)
	sort.Slice(matches, func(i, j int) bool { return versionOf(matches[i]) > versionOf(matches[j]) })
	for _, dir := range matches {
		if isExec(filepath.Join(dir, "initdb")) && isExec(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isExec(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Start initialises and starts a server. The caller must call Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	binDir := opts.BinDir
	if binDir == "" {
		var err error
		if binDir, err = FindBinDir(); err != nil {
			return nil, err
		}
	} else if !isExec(filepath.Join(binDir, "initdb")) || !isExec(filepath.Join(binDir, "postgres")) {
		return nil, fmt.Errorf("%s has no initdb and postgres: %w", binDir, ErrNoBinaries)
	}
	// Unix socket paths are limited to ~107 bytes, so keep the root short
	// even when TMPDIR is long.
	base := os.TempDir()
	if len(base) > 60 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "warden-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtemp: creating temporary directory: %w", err)
	}
	s := &Server{dir: dir, port: 5432, user: "postgres", done: make(chan struct{})}
	cred, err := runAs()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if cred != nil {
		if err := chownTree(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtemp: handing %s to the server user: %w", dir, err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"),
		"-D", data, "-U", s.user, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.Dir = dir
	initdb.Env = serverEnv()
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtemp: initdb failed: %w\n%s", err, tail(string(out), 20))
	}
	if opts.AuthMethod != "" {
		if err := writeHBA(data, s.user, opts.AuthMethod, cred); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}

	args := []string{"-D", data, "-k", dir, "-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
	}
	keys := make([]string, 0, len(opts.Settings))
	for k := range opts.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-c", k+"="+opts.Settings[k])
	}
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtemp: %w", err)
	}
	if cred != nil {
		_ = logFile.Chown(int(cred.Uid), int(cred.Gid))
	}
	cmd := exec.Command(filepath.Join(binDir, "postgres"), args...)
	cmd.Dir = dir
	cmd.Env = serverEnv()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Pdeathsig: if warden itself is killed, the server does an immediate
	// shutdown instead of lingering. Setpgid keeps a terminal's Ctrl-C from
	// reaching the server directly, so Stop decides how it ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtemp: starting postgres: %w", err)
	}
	logFile.Close()
	s.cmd = cmd
	go func() {
		err := cmd.Wait()
		s.waitMu.Lock()
		s.err = err
		s.waitMu.Unlock()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		log := s.Log()
		s.Stop()
		return nil, fmt.Errorf("pgtemp: server did not start: %w\n%s", err, tail(log, 20))
	}
	return s, nil
}

// waitReady polls until the server accepts connections.
func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.done:
			return errors.New("postgres exited")
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, s.URL("postgres"))
		cancel()
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URL returns a connection URL for database db on this server.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://%s@/%s?host=%s&port=%d&sslmode=disable", s.user, db, s.dir, s.port)
}

// Dir is the server's temporary root (the socket directory).
func (s *Server) Dir() string { return s.dir }

// Port is the port number naming the server's unix socket.
func (s *Server) Port() int { return s.port }

// User is the database superuser.
func (s *Server) User() string { return s.user }

// Log returns the server log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	return string(b)
}

// Stop shuts the server down (fast shutdown, then SIGKILL after 10 s) and
// removes its directory. It is safe to call more than once.
func (s *Server) Stop() {
	s.once.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			_ = s.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.done
			}
		}
		os.RemoveAll(s.dir)
	})
}

// CreateDatabase creates database name, copied from template when given.
func (s *Server) CreateDatabase(ctx context.Context, name, template string) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pgtemp: %w", err)
	}
	defer conn.Close(ctx)
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("pgtemp: creating database %s: %w", name, err)
	}
	return nil
}

// DropDatabase drops database name, disconnecting its sessions.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pgtemp: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// runAs picks the credentials for the server processes: none when not root,
// else the "postgres" OS user if it exists, else "nobody".
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, errors.New("pgtemp: running as root and no unprivileged user (postgres or nobody) exists to run the server; create one (useradd postgres) or set DATABASE_URL")
}

// writeHBA replaces initdb's pg_hba.conf: the socket is the only listener,
// so two local lines say everything.
func writeHBA(data, superuser, method string, cred *syscall.Credential) error {
	if strings.ContainsAny(method, " \t\r\n#") {
		return fmt.Errorf("pgtemp: invalid AuthMethod %q", method)
	}
	hba := "# written by pgtemp (Options.AuthMethod)\n" +
		"local all " + superuser + " trust\n" +
		"local all all " + method + "\n"
	path := filepath.Join(data, "pg_hba.conf")
	if err := os.WriteFile(path, []byte(hba), 0o600); err != nil {
		return fmt.Errorf("pgtemp: writing pg_hba.conf: %w", err)
	}
	if cred != nil {
		if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("pgtemp: writing pg_hba.conf: %w", err)
		}
	}
	return nil
}

func chownTree(root string, uid, gid int) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// serverEnv is a minimal environment: the server user cannot read root's
// HOME, and locale variables would make initdb's result machine dependent.
func serverEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "LANG=C", "TZ=UTC"}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
