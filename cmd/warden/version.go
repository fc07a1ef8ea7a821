package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:        "version",
		Usage:       "print warden's version, from the build",
		UsageText:   "warden version",
		Description: "Prints the module version warden was built at (go install ...@vX.Y.Z), or the VCS revision\nof a build from a checkout, and the Go version. Generated files never carry it.",
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, versionString())
			return nil
		},
	}
}

// versionString describes the running binary from its build info: the
// module version, else the VCS revision (and "dirty" when the checkout had
// changes), and the Go version.
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "warden (unknown version)"
	}
	v := info.Main.Version
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if v == "" || v == "(devel)" {
		v = "devel"
		if rev != "" {
			v += " " + rev[:min(12, len(rev))]
			if modified == "true" {
				v += " (dirty)"
			}
		}
	}
	return fmt.Sprintf("warden %s %s", v, strings.TrimPrefix(info.GoVersion, "go"))
}

// suggest returns the name among names closest to s, when it is close
// enough to be a likely typo (edit distance at most 2, or a prefix).
func suggest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if strings.HasPrefix(n, s) && len(s) >= 2 {
			return n
		}
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
