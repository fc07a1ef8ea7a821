package migrations

import (
	"fmt"
	"strconv"

	"github.com/warden-sql/warden/internal/fileset"
	"github.com/warden-sql/warden/internal/policy"
)

// Layout places steps into files for one migration runner's format.
//
// Versions count up from the policy's base version, one per step, so the
// same plan always yields the same names (never the clock).
func Layout(steps []Step, format, baseVersion string) (fileset.Set, error) {
	base, err := strconv.ParseInt(baseVersion, 10, 64)
	if err != nil || len(baseVersion) != 14 {
		return nil, fmt.Errorf("migrations: base version %q is not 14 digits", baseVersion)
	}
	version := func(i int) string { return strconv.FormatInt(base+int64(i), 10) }
	out := fileset.Set{}
	switch format {
	case policy.FormatSupabase, "":
		for i, s := range steps {
			out[fmt.Sprintf("supabase/migrations/%s_warden_%s.sql", version(i), s.Name)] = sqlFile(s.Up)
		}
		// The Supabase CLI has no down migrations: the rollback scripts are
		// plain files, numbered in the order to run them (last step first).
		n := 0
		for i := len(steps) - 1; i >= 0; i-- {
			if steps[i].Down == "" {
				continue
			}
			n++
			out[fmt.Sprintf("rollback/%04d_undo_%s.sql", n, steps[i].Name)] = sqlFile(steps[i].Down + "\n")
		}
	default:
		return nil, fmt.Errorf("migrations: format %q is not supported yet", format)
	}
	return out, nil
}

func sqlFile(body string) []byte {
	return []byte(fileset.HeaderSQL + "\n" + body)
}
