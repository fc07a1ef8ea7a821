// Package verifyrun compiles a generated verification test package and runs
// it against a database, the way an adopter's CI does, for warden's own
// tests: compiled as a package of its own, run as a subprocess, its -test.v
// output read back test by test.
package verifyrun

import (
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// URLEnv names the environment variable the generated tests read the
// database URL from (verify.DatabaseURLEnv; spelled out here because a
// helper may not import the renderer).
const URLEnv = "WARDEN_VERIFY_DATABASE_URL"

// Build writes files (paths to sources; only the base names are kept) as
// one package in a new directory under parent, compiles and vets it, and
// returns the test binary. parent must be inside this module (a testdata
// folder: ignored by ./... and by git), so that the package builds with the
// module's pgx and nothing else; the sources are removed once built.
func Build(t testing.TB, parent string, files map[string][]byte) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to compile the generated tests: %v", err)
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(parent, "run-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for p, src := range files {
		if err := os.WriteFile(filepath.Join(dir, path.Base(p)), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(t.TempDir(), "verify.test")
	start := time.Now()
	pkg := "./" + filepath.ToSlash(dir)
	if out, err := exec.Command(goBin, "test", "-c", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("compiling the generated tests: %v\n%s", err, out)
	}
	// An adopter's CI vets generated/ along with everything else.
	if out, err := exec.Command(goBin, "vet", pkg).CombinedOutput(); err != nil {
		t.Fatalf("go vet of the generated tests: %v\n%s", err, out)
	}
	t.Logf("compiled and vetted the generated tests in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// Run runs the compiled tests verbosely with the database URL (none when
// url is empty, whatever the environment says) and returns the output and
// exit status.
func Run(t testing.TB, bin, url string, args ...string) (string, int) {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, URLEnv+"=") {
			env = append(env, kv)
		}
	}
	if url != "" {
		env = append(env, URLEnv+"="+url)
	}
	cmd := exec.Command(bin, append([]string{"-test.v", "-test.count=1"}, args...)...)
	cmd.Env = env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("ran the generated tests in %v", time.Since(start).Round(time.Millisecond))
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	default:
		t.Fatalf("running the generated tests: %v\n%s", err, out)
		return "", -1
	}
}

var resultLine = regexp.MustCompile(`(?m)^\s*--- (PASS|FAIL|SKIP): (\S+) \(`)

// Results maps every test and subtest name in the -test.v output to PASS,
// FAIL or SKIP.
func Results(out string) map[string]string {
	res := map[string]string{}
	for _, m := range resultLine.FindAllStringSubmatch(out, -1) {
		res[m[2]] = m[1]
	}
	return res
}

// FailedLeaves lists the failed subtests that have no failed subtests of
// their own, sorted.
func FailedLeaves(out string) []string {
	var failed []string
	for name, r := range Results(out) {
		if r == "FAIL" {
			failed = append(failed, name)
		}
	}
	var leaves []string
	for _, name := range failed {
		leaf := true
		for _, other := range failed {
			if strings.HasPrefix(other, name+"/") {
				leaf = false
			}
		}
		if leaf {
			leaves = append(leaves, name)
		}
	}
	sort.Strings(leaves)
	return leaves
}

// Failures returns the output lines about failures, for messages.
func Failures(out string) string {
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "FAIL") || strings.Contains(l, "_test.go:") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
