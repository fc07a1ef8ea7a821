package migrations

import (
	"fmt"
	"sort"
	"strings"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// This file plans what closes the relations outside the scoped tables that
// an API role can reach: a global table anyone may write, an excluded
// table every user reads whole, a view that shows every org's rows with
// its owner's rights, a materialized view (which has no row-level security
// at all). Each gets a step of its own, planned from the catalog as it was
// before warden, so the undo restores exactly that.

// exposedData is one such relation as its template sees it.
type exposedData struct {
	common
	Display string // for comments
	T       string // quoted, qualified
	Lit     string // the qualified name as a literal
	// Policy is the permissive policy added (global, excluded tables).
	Policy, PolicyLit string
	// OwnerMatch is the excluded table's condition "the row is the
	// caller's": its owner column against the request's user.
	OwnerMatch string
	OwnerCol   string // raw, for comments
	// Revoke lists the API roles, as REVOKE takes them; RevokeLits the
	// same as literals, to record which of them had SELECT before.
	Revoke     string
	RevokeLits string
	// Reads names the protected tables a view reads, for comments.
	Reads string
	// Rels are the table, then every partition of a partitioned one: the
	// API roles can name a partition directly, past the parent's policies,
	// so each gets the same row-level security.
	Rels []exposedPart
	// check is what the step's Probe says.
	check Probe
	slug  string // for the step's file name
	tp    *classify.TablePlan
}

// exposedPart is an exposed table or one of its partitions.
type exposedPart struct{ T, Lit string }

// relsOf lists t, then every partition of it at any level.
func relsOf(t *introspect.Table) []exposedPart {
	out := []exposedPart{{T: ident.Qualified(t.Schema, t.Name), Lit: ident.Literal(ident.Qualified(t.Schema, t.Name))}}
	for _, p := range t.Partitions {
		out = append(out, exposedPart{T: ident.Qualified(p.Schema, p.Name), Lit: ident.Literal(ident.Qualified(p.Schema, p.Name))})
	}
	return out
}

// Name of the read policy warden gives global tables and of the owner
// policy it gives excluded ones.
const (
	globalReadPolicy = "warden_read"
	ownerPolicy      = "warden_owner_access"
)

// apiRoles are the roles a request acts as: Supabase's anon and
// authenticated, and the policy's roles; PUBLIC always, since a grant to it
// reaches them all.
func apiRoles(pol *policy.Policy) map[string]bool {
	out := map[string]bool{"PUBLIC": true}
	if pol.Context.Kind == policy.ContextSupabase {
		out["anon"], out["authenticated"] = true, true
	}
	for _, r := range pol.Context.Roles {
		out[r] = true
	}
	return out
}

// userExprFor is the request's user id as SQL of the owner column's type,
// "" when the context carries none (a session context without
// user_setting).
func userExprFor(pol *policy.Policy, ownerType string) string {
	var raw string
	switch pol.Context.Kind {
	case policy.ContextSupabase:
		if baseType(ownerType) == "uuid" {
			return "(SELECT auth.uid())"
		}
		raw = "auth.uid()::text"
	case policy.ContextJWT:
		raw = "nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'"
	case policy.ContextSession:
		if pol.Context.UserSetting == "" {
			return ""
		}
		raw = fmt.Sprintf("nullif(pg_catalog.current_setting(%s, true), '')", ident.Literal(pol.Context.UserSetting))
	}
	if isTextType(baseType(ownerType)) {
		return "(SELECT " + raw + ")"
	}
	return fmt.Sprintf("(SELECT (%s)::%s)", raw, baseType(ownerType))
}

// exposedSteps lists, per step kind, the relations that need it.
func exposedSteps(c common, plan *classify.Plan) map[Kind][]*exposedData {
	pol := plan.Policy
	out := map[Kind][]*exposedData{}
	rel := func(schema, name string) *exposedData {
		slug := name
		if schema != "public" {
			slug = schema + "_" + name
		}
		return &exposedData{common: c, Display: ident.Display(schema, name), T: ident.Qualified(schema, name),
			Lit: ident.Literal(ident.Qualified(schema, name)), slug: sanitize(slug), check: Probe{Relation: ident.Qualified(schema, name)}}
	}
	for _, tp := range plan.Tables {
		t := tp.Table
		// A table whose RLS the app set up is the app's: warden adds no
		// permissive policy there (it could only widen or open it). RLS
		// found on with warden's own policy is warden's doing: the step is
		// still planned, so regenerating after up changes nothing.
		switch {
		// Only tables the policy lists as global: one treated as global for
		// want of an owner may hold private rows (a child of an excluded
		// table), and a read-all policy would make that explicit.
		case tp.Class == classify.Global && tp.Decision != nil && (!t.RLSEnabled || hasPolicy(t, globalReadPolicy)):
			d := rel(t.Schema, t.Name)
			d.Policy, d.PolicyLit, d.tp = ident.Quote(globalReadPolicy), ident.Literal(globalReadPolicy), tp
			d.check.Policy = globalReadPolicy
			d.Rels = relsOf(t)
			out[KindRLSGlobal] = append(out[KindRLSGlobal], d)
		case tp.Class == classify.Excluded && (!t.RLSEnabled || hasPolicy(t, ownerPolicy)):
			if tp.Owner == nil {
				continue
			}
			user := userExprFor(pol, tp.Owner.Type)
			if user == "" {
				continue
			}
			d := rel(t.Schema, t.Name)
			d.Policy, d.PolicyLit, d.tp = ident.Quote(ownerPolicy), ident.Literal(ownerPolicy), tp
			d.check.Policy = ownerPolicy
			d.Rels = relsOf(t)
			d.OwnerMatch, d.OwnerCol = ident.Quote(tp.Owner.Name)+" = "+user, tp.Owner.Name
			out[KindRLSExcluded] = append(out[KindRLSExcluded], d)
		}
	}
	var api, apiRaw []string
	for r := range apiRoles(pol) {
		apiRaw = append(apiRaw, r)
	}
	sort.Strings(apiRaw)
	for _, r := range apiRaw {
		if r == "PUBLIC" {
			api = append(api, r)
		} else {
			api = append(api, ident.Quote(r))
		}
	}
	for _, vp := range plan.Views {
		v := vp.View
		var reads []string
		for _, tp := range vp.Reads {
			reads = append(reads, tp.Name())
		}
		d := rel(v.Schema, v.Name)
		d.Reads = strings.Join(reads, ", ")
		// Planned whatever the view's options and grants are now: the up
		// records them and the undo restores exactly them, and a view that
		// warden already changed plans the same step (no drift).
		if v.Materialized {
			d.Revoke, d.RevokeLits = strings.Join(api, ", "), literals(apiRaw)
			d.check.Revoked = apiRaw
			out[KindMatviewRevoke] = append(out[KindMatviewRevoke], d)
		} else {
			out[KindViewInvoker] = append(out[KindViewInvoker], d)
		}
	}
	return out
}

func hasPolicy(t *introspect.Table, name string) bool {
	for _, p := range t.Policies {
		if p.Name == name {
			return true
		}
	}
	return false
}

func literals(names []string) string {
	var out []string
	for _, n := range names {
		out = append(out, ident.Literal(n))
	}
	return strings.Join(out, ", ")
}

// ExposedSummary is one relation of exposedSteps for the report: what warden
// does to it, in a few words.
type ExposedSummary struct {
	Kind     Kind
	Relation string // display name
	Detail   string
}

// Exposed lists what the migration closes outside the scoped tables, in
// step order.
func Exposed(plan *classify.Plan) []ExposedSummary {
	var out []ExposedSummary
	steps := exposedSteps(common{}, plan)
	for _, k := range []Kind{KindRLSGlobal, KindRLSExcluded, KindViewInvoker, KindMatviewRevoke} {
		for _, d := range steps[k] {
			s := ExposedSummary{Kind: k, Relation: d.Display}
			switch k {
			case KindRLSGlobal:
				s.Detail = "row-level security on: every request may read it, only roles that bypass it (or own it) may write"
			case KindRLSExcluded:
				s.Detail = "row-level security on: a request reaches only its user's rows (" + d.OwnerCol + ")"
			case KindViewInvoker:
				s.Detail = "security_invoker: it reads " + d.Reads + " with the caller's rights and row-level security"
			case KindMatviewRevoke:
				s.Detail = "SELECT revoked from the API roles (" + d.Revoke + "): a materialized view has no row-level security, and it holds rows of " + d.Reads
			}
			out = append(out, s)
		}
	}
	return out
}
