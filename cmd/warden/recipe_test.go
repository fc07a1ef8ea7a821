package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// recipeSchema is the adopter's schema in the recipe test: its own users
// table, orgs, memberships, an owned table and a child of it.
const recipeSchema = `CREATE TABLE public.users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text NOT NULL UNIQUE);
CREATE TABLE public.organizations (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL);
CREATE TABLE public.memberships (user_id uuid NOT NULL REFERENCES public.users (id), org_id uuid NOT NULL REFERENCES public.organizations (id),
  created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (org_id, user_id));
CREATE TABLE public.notes (id bigserial PRIMARY KEY, user_id uuid NOT NULL REFERENCES public.users (id), body text NOT NULL);
CREATE TABLE public.comments (id bigserial PRIMARY KEY, note_id bigint NOT NULL REFERENCES public.notes (id), body text);
`

// TestREADMERecipe follows "Adopting warden in another repository" in the
// README verbatim, in a fresh module: it installs warden from this
// checkout as step 0 says, then runs every warden command the section's
// shell blocks show, its go:generate line through go generate, and its CI
// job's warden step; the CI step must pass on the fresh output and fail
// once the schema changed. A README edit that breaks a step breaks this
// test.
func TestREADMERecipe(t *testing.T) {
	cleanEnv(t)
	scratchTmp(t)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	start := strings.Index(section, "## Adopting warden in another repository")
	if start < 0 {
		t.Fatal("README has no section \"Adopting warden in another repository\"")
	}
	section = section[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}

	// Step 0: install from the checkout.
	install := regexp.MustCompile(`\(cd warden && (go install \./cmd/warden)\)`).FindStringSubmatch(section)
	if install == nil {
		t.Fatal("the README's step 0 does not install with (cd warden && go install ./cmd/warden)")
	}
	bin := t.TempDir()
	goCmd := exec.Command("go", "install", "./cmd/warden")
	goCmd.Dir = "../.."
	goCmd.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := goCmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", install[1], err, out)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	repo := t.TempDir()
	if err := os.Chmod(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(repo, "db", "schema.sql"), recipeSchema)
	sh := func(dir, line string) (string, int) {
		t.Helper()
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir = dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return out.String(), code
	}

	// Steps 1 to 3: every warden command of the section's shell blocks.
	var ran []string
	for _, block := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		for _, line := range strings.Split(block[1], "\n") {
			line = strings.TrimSpace(line)
			if i := strings.Index(line, " #"); i >= 0 {
				line = strings.TrimSpace(line[:i])
			}
			if !strings.HasPrefix(line, "warden ") {
				continue
			}
			if out, code := sh(repo, line); code != 0 {
				t.Fatalf("%s: exit %d\n%s", line, code, out)
			}
			ran = append(ran, line)
		}
	}
	for _, want := range []string{"warden version", "warden init", "warden plan", "warden generate"} {
		if !strings.Contains(strings.Join(ran, "\n"), want) {
			t.Errorf("the README's shell blocks have no %q step (ran %q)", want, ran)
		}
	}
	migrations, _ := filepath.Glob(filepath.Join(repo, "supabase", "migrations", "*.sql"))
	if len(migrations) == 0 {
		t.Fatal("after the README's steps there is nothing in supabase/migrations, where the Supabase CLI looks")
	}
	for _, f := range []string{"warden.sum", "REPORT.md", "policy.yaml"} {
		if _, err := os.Stat(filepath.Join(repo, f)); err != nil {
			t.Errorf("after the README's steps: %v", err)
		}
	}

	// Step 4: the go:generate line, in a package one level down.
	gen := regexp.MustCompile(`(//go:generate warden [^\n]*)`).FindString(section)
	if gen == "" {
		t.Fatal("the README shows no //go:generate line")
	}
	writeFile(t, filepath.Join(repo, "go.mod"), "module example.com/app\n\ngo 1.22\n")
	writeFile(t, filepath.Join(repo, "tools", "generate.go"), gen+"\n\npackage tools\n")
	if out, code := sh(repo, "go generate ./tools"); code != 0 {
		t.Fatalf("go generate with %s: exit %d\n%s", gen, code, out)
	}

	// Step 5: the CI job's warden step passes on the committed output...
	check := regexp.MustCompile(`- run: (warden check[^\n]*)`).FindStringSubmatch(section)
	if check == nil {
		t.Fatal("the README's CI job has no warden check step")
	}
	if out, code := sh(repo, check[1]); code != 0 {
		t.Fatalf("CI step %s on fresh output: exit %d\n%s", check[1], code, out)
	}
	// ... and fails, naming the fix, once the schema and policy changed
	// (a new table, scoped) without regenerating.
	writeFile(t, filepath.Join(repo, "db", "schema.sql"), recipeSchema+
		"CREATE TABLE public.tags (id bigserial PRIMARY KEY, note_id bigint NOT NULL REFERENCES public.notes (id), label text);\n")
	pol, err := os.ReadFile(filepath.Join(repo, "policy.yaml"))
	if err != nil || !bytes.Contains(pol, []byte("\nscope:\n")) {
		t.Fatalf("the drafted policy has no scope list (%v)", err)
	}
	writeFile(t, filepath.Join(repo, "policy.yaml"), strings.Replace(string(pol), "\nscope:\n", "\nscope:\n  - public.tags\n", 1))
	out, code := sh(repo, check[1])
	if code != 1 || !strings.Contains(out, "warden generate") {
		t.Errorf("CI step %s after a schema change: exit %d, want 1 with the command that fixes it\n%s", check[1], code, out)
	}
}

// writeFile writes body to path, making its directory.
func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
