// Package citustest starts a throwaway Citus cluster for tests: a
// coordinator and two workers, each a pgtemp server on its own unix
// socket, with one database that has the citus extension on every node.
//
// Citus is not in Debian's archive; ../shared/citus/build.sh (or a
// package) installs it. Without it, Start skips the test with a message
// saying how to install it, unless WARDEN_REQUIRE_CITUS is set (CI sets
// it), in which case the test fails: nothing skips silently there.
package citustest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/internal/pgtemp"
)

// RequireEnv names the variable that turns a missing Citus into a failure.
const RequireEnv = "WARDEN_REQUIRE_CITUS"

// Cluster is a running coordinator and its workers.
type Cluster struct {
	Coordinator *pgtemp.Server
	Workers     []*pgtemp.Server
	// DB is the database every node has, with the citus extension.
	DB string
}

// URL is the coordinator's connection URL for the cluster's database.
func (c *Cluster) URL() string { return c.Coordinator.URL(c.DB) }

// Installed reports whether the citus extension is installed into the
// PostgreSQL that pgtemp runs, and where it looked.
func Installed() (bool, string) {
	bin, err := pgtemp.FindBinDir()
	if err != nil {
		return false, err.Error()
	}
	out, err := exec.Command(filepath.Join(bin, "pg_config"), "--pkglibdir").Output()
	lib := strings.TrimSpace(string(out))
	if err != nil || lib == "" {
		out, err = exec.Command("pg_config", "--pkglibdir").Output()
		if err != nil {
			return false, "pg_config --pkglibdir: " + err.Error()
		}
		lib = strings.TrimSpace(string(out))
	}
	_, err = os.Stat(filepath.Join(lib, "citus.so"))
	return err == nil, lib
}

// Start starts a cluster of a coordinator and two workers for the test,
// stopped when it ends.
func Start(t testing.TB) *Cluster {
	t.Helper()
	if ok, where := Installed(); !ok {
		msg := "Citus is not installed (no citus.so in " + where + "): install it with ../shared/citus/build.sh (see README, Citus), or set " + RequireEnv + " to fail instead"
		if os.Getenv(RequireEnv) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx := context.Background()
	c := &Cluster{DB: "app"}
	start := func() *pgtemp.Server {
		s, err := pgtemp.Start(ctx, pgtemp.Options{Settings: settings()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Stop)
		// create_distributed_table_concurrently connects back to the node
		// it runs on by this name: its socket directory.
		exec1(t, s.URL("postgres"), "ALTER SYSTEM SET citus.local_hostname = '"+s.Dir()+"'", "SELECT pg_reload_conf()")
		if err := s.CreateDatabase(ctx, c.DB, ""); err != nil {
			t.Fatal(err)
		}
		exec1(t, s.URL(c.DB), "CREATE EXTENSION citus")
		return s
	}
	c.Coordinator = start()
	for i := 0; i < 2; i++ {
		c.Workers = append(c.Workers, start())
	}
	stmts := []string{"SELECT citus_set_coordinator_host('" + c.Coordinator.Dir() + "', 5432)"}
	for _, w := range c.Workers {
		stmts = append(stmts, "SELECT citus_add_node('"+w.Dir()+"', 5432)")
	}
	exec1(t, c.URL(), stmts...)
	return c
}

// settings are the server settings every node needs: Citus preloaded,
// and logical decoding (Citus moves rows of a table distributed without
// blocking writes with it; PostgreSQL 15.20 and later also name the
// output plugins a replication user may load).
func settings() map[string]string {
	s := map[string]string{
		"shared_preload_libraries": "citus",
		"wal_level":                "logical",
		"max_wal_senders":          "20",
		"max_replication_slots":    "20",
		// Few shards: the tests prove routing and isolation, which do not
		// depend on the count, and each shard costs time to create.
		"citus.shard_count": "4",
	}
	if outputPluginLibraries() {
		s["output_plugin_libraries"] = "pgoutput,test_decoding,citus"
	}
	return s
}

// outputPluginLibraries reports whether the server knows the setting
// output_plugin_libraries (added by PostgreSQL's 15.20 security release).
func outputPluginLibraries() bool {
	bin, err := pgtemp.FindBinDir()
	if err != nil {
		return false
	}
	out, err := exec.Command(filepath.Join(bin, "postgres"), "--describe-config").Output()
	return err == nil && strings.Contains(string(out), "output_plugin_libraries")
}

func exec1(t testing.TB, url string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}
