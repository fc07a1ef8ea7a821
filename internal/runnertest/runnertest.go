// Package runnertest finds the real migration runners the test suites
// apply generated files with, installing the Supabase CLI from npm into the
// user cache directory when it is not there (as .ci/run does).
package runnertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// SupabaseCLIEnv names the variable holding the path of the Supabase CLI
// binary. Without it, supabase on PATH is used, else the copy in the user
// cache directory, which is installed there from npm on first use (npm i
// -E supabase@2.117.0, the version checked; .ci/run installs it up front).
const SupabaseCLIEnv = "WARDEN_SUPABASE_CLI"

// SupabaseCLIVersion is the Supabase CLI version the suite checks.
const SupabaseCLIVersion = "2.117.0"

// SupabaseCLI returns the Supabase CLI's path, installing it when needed.
func SupabaseCLI() (string, error) {
	if p := os.Getenv(SupabaseCLIEnv); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("supabase"); err == nil {
		return p, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no Supabase CLI on PATH and no cache directory to install it in: %w", err)
	}
	prefix := filepath.Join(cache, "warden-supabase-cli")
	bin := filepath.Join(prefix, "node_modules", ".bin", "supabase")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("the Supabase CLI is not installed and npm is not on PATH to install it: npm i -E supabase@%s, then set %s", SupabaseCLIVersion, SupabaseCLIEnv)
	}
	out, err := exec.Command(npm, "i", "--no-audit", "--no-fund", "--prefix", prefix, "-E", "supabase@"+SupabaseCLIVersion).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("installing the Supabase CLI with npm: %v\n%s", err, out)
	}
	return bin, nil
}
