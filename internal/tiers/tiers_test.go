package tiers

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/warden-sql/warden"

// listed is what `go list -json` says about one package.
type listed struct {
	ImportPath string
	Imports    []string
}

// listPackages runs go list over the whole module.
func listPackages(t *testing.T) []listed {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// violations returns, for each package's non-test imports within the
// module, the ones that run upward or touch a package without a tier.
func violations(pkgs []listed, of map[string]Tier) []string {
	var out []string
	for _, p := range pkgs {
		name, _ := rel(p.ImportPath)
		from, ok := of[name]
		if !ok {
			out = append(out, name+": no tier (add it to tiers.Of)")
			continue
		}
		for _, imp := range p.Imports {
			dep, inModule := rel(imp)
			if !inModule {
				continue
			}
			to, ok := of[dep]
			switch {
			case !ok:
				out = append(out, name+" imports "+dep+", which has no tier")
			case to == Outside && from != Outside:
				out = append(out, name+" imports "+dep+", which nothing may import")
			case to > from:
				out = append(out, name+" imports "+dep+", a higher tier")
			}
		}
	}
	return out
}

// TestTiers: no package imports one of a higher tier, and every package
// has a tier.
func TestTiers(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < len(Of)/2 {
		t.Fatalf("go list found %d packages; the table names %d", len(pkgs), len(Of))
	}
	for _, v := range violations(pkgs, Of) {
		t.Error(v)
	}
	seen := map[string]bool{}
	for _, p := range pkgs {
		name, _ := rel(p.ImportPath)
		seen[name] = true
	}
	for name := range Of {
		if !seen[name] {
			t.Errorf("tiers.Of names %s, which is not a package of the module any more", name)
		}
	}
}

// TestTiersCatchAnUpwardImport: the check fails when a lower tier imports a
// higher one (the status package moved below the generator, as it once was).
func TestTiersCatchAnUpwardImport(t *testing.T) {
	pkgs := []listed{
		{ImportPath: module + "/generator/classify", Imports: []string{module + "/operate/status", "fmt"}},
		{ImportPath: module + "/operate/status", Imports: []string{module + "/generator/classify"}},
		{ImportPath: module + "/cmd/warden", Imports: []string{module + "/bench"}},
	}
	got := violations(pkgs, Of)
	want := []string{
		"generator/classify imports operate/status, a higher tier",
		"cmd/warden imports bench, which nothing may import",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRenderersDoNotWrite: the renderers build file sets in memory; only the
// commands write them (fileset.Write) or compare them with the disk
// (fileset.Check), so a renderer can never leave half an output behind.
func TestRenderersDoNotWrite(t *testing.T) {
	for name, tier := range Of {
		if tier != Renderers && tier != Plan {
			continue
		}
		files, err := filepath.Glob(filepath.Join("..", "..", filepath.FromSlash(name), "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, call := range []string{"fileset.Write(", "fileset.Check(", "os.WriteFile(", "os.Create("} {
				if bytes.Contains(src, []byte(call)) {
					t.Errorf("%s calls %s: renderers return files, the commands write them", f, call)
				}
			}
		}
	}
}
