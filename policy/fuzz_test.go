package policy

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, that every error is an
// *Error with a line (so a user can always find the problem), and that a
// policy that parses is internally consistent. The name is a real file
// name in testdata so that schema_files entries resolve against a directory
// that exists.
func FuzzParse(f *testing.F) {
	for _, tc := range errorCases {
		f.Add([]byte(tc.yaml))
	}
	f.Add([]byte(minimal))
	if data, err := os.ReadFile(fullFile); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(fullFile, data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is %T, want *Error", err, err)
			}
			if e.Pos.Line <= 0 || e.Pos.File != fullFile {
				t.Fatalf("error without a line: %v", err)
			}
			if p != nil {
				t.Fatalf("Parse returned a policy and an error")
			}
			return
		}
		refs := []TableRef{p.Tenant.Table, p.Users.Table}
		if p.Membership != nil {
			refs = append(refs, p.Membership.Table)
		}
		refs = append(refs, p.Exclude...)
		refs = append(refs, p.Global...)
		refs = append(refs, p.Critical...)
		for _, o := range p.Tables {
			refs = append(refs, o.Table)
			set := 0
			for _, b := range []bool{o.Via != nil, o.Class != "", len(o.OrgFrom) > 0} {
				if b {
					set++
				}
			}
			if set > 1 || set == 0 && o.NullParent == "" && o.RequireFK == nil {
				t.Fatalf("override %v: want at most one of via, class and org_from, and a decision (or require_fk)", o.Table)
			}
			if o.Via != nil {
				refs = append(refs, *o.Via)
			}
			for _, src := range o.OrgFrom {
				refs = append(refs, src.Table)
			}
		}
		for _, r := range refs {
			if r.Schema == "" || r.Name == "" || r.Pos.Line <= 0 || r.Key == "" {
				t.Fatalf("incomplete table ref %+v", r)
			}
			back, err := ParseTableRef(r.String(), "")
			if err != nil || !back.SameTable(r) {
				t.Fatalf("%+v does not round-trip through %q: %v", r, r.String(), err)
			}
		}
		if !canonicalOrgKey(p.Tenant.Type, p.Tenant.DefaultOrg) {
			t.Fatalf("default org %q is not canonical for tenant.type %s", p.Tenant.DefaultOrg, p.Tenant.Type)
		}
		if len(p.Schemas) == 0 || len(p.Ownership) == 0 || len(p.Migrations.Version) != 14 {
			t.Fatalf("required values missing: %+v", p)
		}
	})
}

// canonicalOrgKey reports whether key is written the one way orgKey writes
// a key of type typ, so that two spellings of one org give the same bytes.
func canonicalOrgKey(typ, key string) bool {
	switch typ {
	case "uuid":
		u, ok := canonicalUUID(key)
		return ok && u == key
	case "bigint", "integer":
		n, err := strconv.ParseInt(key, 10, 64)
		return err == nil && n != 0 && strconv.FormatInt(n, 10) == key
	default:
		return key != "" && strings.TrimSpace(key) == key
	}
}
