// Package runnertest finds the real migration runners the test suites
// apply generated files with, and the squawk linter they lint them with,
// installing the Supabase CLI and squawk from npm into the user cache
// directory when they are not there (as .ci/run does).
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
	return npmTool(SupabaseCLIEnv, "supabase", "warden-supabase-cli", "supabase", SupabaseCLIVersion)
}

// SquawkEnv names the variable holding the path of the squawk binary, the
// migration linter; without it, squawk on PATH, else the copy in the user
// cache directory, installed there from npm on first use (npm i -E
// squawk-cli@2.66.0; .ci/run installs it up front).
const SquawkEnv = "WARDEN_SQUAWK"

// SquawkVersion is the squawk-cli version the suite lints with.
const SquawkVersion = "2.66.0"

// Squawk returns squawk's path, installing it when needed.
func Squawk() (string, error) {
	return npmTool(SquawkEnv, "squawk", "warden-squawk", "squawk-cli", SquawkVersion)
}

// npmTool finds the binary bin of an npm package: at $env, on PATH, or in
// the cache directory dir, where it installs pkg@version when missing.
func npmTool(env, bin, dir, pkg, version string) (string, error) {
	if p := os.Getenv(env); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath(bin); err == nil {
		return p, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no %s on PATH and no cache directory to install it in: %w", bin, err)
	}
	prefix := filepath.Join(cache, dir)
	path := filepath.Join(prefix, "node_modules", ".bin", bin)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("%s is not installed and npm is not on PATH to install it: npm i -E %s@%s, then set %s", bin, pkg, version, env)
	}
	out, err := exec.Command(npm, "i", "--no-audit", "--no-fund", "--prefix", prefix, "-E", pkg+"@"+version).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("installing %s with npm: %v\n%s", pkg, err, out)
	}
	return path, nil
}
