package migrations

// Security hardening of what the migration creates (issue 6), asserted
// from the catalog of a migrated database. securityProblems is the rule
// book; the tests run it on the migrated example app, where it must find
// nothing, and on deliberately weakened copies, where it must find exactly
// what was weakened — a check that cannot fail proves nothing.

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/generator/classify"
)

// querier is a connection or a transaction: the negative controls weaken
// the database inside a transaction and inspect it there.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// commitProcedures are the only functions allowed to run without a pinned
// search_path: PostgreSQL refuses COMMIT in a procedure that has a SET
// clause, and these two commit per batch. They run with the caller's
// rights and only their owner may call them.
var commitProcedures = []string{"warden.backfill", "warden.backfill_user_claims"}

// apiRoles are the roles requests run as; PUBLIC is checked on its own.
const apiRolesSQL = `ARRAY['anon', 'authenticated']`

// relationRef finds relation names after the keywords that take one, and
// cteName the names a WITH clause defines (not relations).
var (
	relationRef = regexp.MustCompile(`(?i)\b(from|join|update|insert\s+into|delete\s+from)\s+("[^"]+"|[a-z_][a-z0-9_$]*)(\s*\.\s*("[^"]+"|[a-z_][a-z0-9_$]*))?`)
	cteName     = regexp.MustCompile(`(?i)\b([a-z_][a-z0-9_]*)\s+as\s*\(`)
	distinctEnd = regexp.MustCompile(`(?i)\bdistinct\s+$`)
)

// unqualifiedRelations lists the relation names in a function body that
// are not schema-qualified: resolved through search_path (pg_temp first),
// they could be replaced by an object of the caller's choosing.
func unqualifiedRelations(src string) []string {
	ctes := map[string]bool{}
	for _, m := range cteName.FindAllStringSubmatch(src, -1) {
		ctes[strings.ToLower(m[1])] = true
	}
	var out []string
	for _, m := range relationRef.FindAllStringSubmatchIndex(src, -1) {
		kw := strings.ToLower(src[m[2]:m[3]])
		name := src[m[4]:m[5]]
		switch {
		case m[6] >= 0: // schema.name
		case ctes[strings.ToLower(name)]:
		case kw == "from" && distinctEnd.MatchString(src[:m[0]]): // IS DISTINCT FROM x
		default:
			out = append(out, name)
		}
	}
	return out
}

// securityProblems returns, sorted, one line per hardening rule the
// database breaks for the plan's scoped tables and warden's functions.
func securityProblems(ctx context.Context, q querier, plan *classify.Plan) ([]string, error) {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// Functions: warden's and public.auth_org_id().
	rows, err := q.Query(ctx, `
SELECT pg_catalog.format('%I.%I', n.nspname, p.proname),
       pg_catalog.format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),
       p.prokind::text, p.prosecdef, p.provolatile::text,
       coalesce('search_path=""' = ANY (p.proconfig), false), p.proconfig IS NULL,
       p.prosrc,
       p.proacl IS NULL OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(p.proacl) a
                                   WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'),
       ARRAY(SELECT r.rolname::text FROM pg_catalog.pg_roles r
             WHERE r.rolname = ANY (`+apiRolesSQL+`) AND pg_catalog.has_function_privilege(r.oid, p.oid, 'EXECUTE')
             ORDER BY 1)
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'warden' OR (n.nspname = 'public' AND p.proname = 'auth_org_id')
ORDER BY 2`)
	if err != nil {
		return nil, fmt.Errorf("security: querying functions: %w", err)
	}
	authOrgID := false
	for rows.Next() {
		var name, sig, kind, volatility, src string
		var secdef, pinned, unset, publicExec bool
		var api []string
		if err := rows.Scan(&name, &sig, &kind, &secdef, &volatility, &pinned, &unset, &src, &publicExec, &api); err != nil {
			return nil, err
		}
		switch {
		case pinned:
		case name == "public.auth_org_id" && unset && !secdef:
			// Left unpinned so the planner inlines it into the policies;
			// that is safe only while it reads no table (it computes from
			// the caller's own settings and the pinned warden.request_org()).
			if relationRef.MatchString(src) {
				report("%s: reads a table without a pinned search_path", sig)
			}
		case kind == "p" && slices.Contains(commitProcedures, name) && !secdef:
			// Allowed without SET search_path; then every relation name
			// must be qualified.
			for _, rel := range unqualifiedRelations(src) {
				report("%s: unqualified relation %s in a procedure without a pinned search_path", sig, rel)
			}
		default:
			report("%s: no SET search_path = ''", sig)
		}
		if publicExec {
			report("%s: PUBLIC can EXECUTE", sig)
		}
		if name == "warden.request_org" {
			// The membership lookup behind auth_org_id(): the one function
			// in schema warden its callers may run.
			if !secdef {
				report("%s: not SECURITY DEFINER, so the membership table's own policies filter the lookup", sig)
			}
			if slices.Contains(api, "anon") {
				report("%s: anon can EXECUTE", sig)
			}
			continue
		}
		if name == "public.auth_org_id" {
			authOrgID = true
			if secdef {
				report("%s: SECURITY DEFINER", sig)
			}
			if volatility != "s" {
				report("%s: volatility %q, want STABLE", sig, volatility)
			}
			if slices.Contains(api, "anon") {
				report("%s: anon can EXECUTE", sig)
			}
			if !slices.Contains(api, "authenticated") {
				report("%s: authenticated cannot EXECUTE, so every policy fails for it", sig)
			}
			continue
		}
		for _, r := range api {
			report("%s: %s can EXECUTE", sig, r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !authOrgID {
		report("public.auth_org_id() is missing")
	}

	// SECURITY DEFINER only in warden's schema, which the API does not
	// expose (extensions' own functions aside).
	if err := collect(ctx, q, &problems, `
SELECT pg_catalog.format('%I.%I(%s): SECURITY DEFINER outside schema warden',
         n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid))
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'warden')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`); err != nil {
		return nil, err
	}

	// Schema warden: no USAGE or CREATE for PUBLIC or the API roles (a
	// NULL ACL on a schema means its owner only).
	if err := collect(ctx, q, &problems, `
SELECT 'schema warden is missing' WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'warden')
UNION ALL
SELECT pg_catalog.format('schema warden: PUBLIC has %s', a.privilege_type)
FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
WHERE n.nspname = 'warden' AND a.grantee = 0
UNION ALL
SELECT pg_catalog.format('schema warden: %s has %s', r.rolname, pv)
FROM pg_catalog.pg_namespace n, pg_catalog.pg_roles r, unnest(ARRAY['USAGE', 'CREATE']) pv
WHERE n.nspname = 'warden' AND r.rolname = ANY (`+apiRolesSQL+`)
  AND pg_catalog.has_schema_privilege(r.oid, n.oid, pv)
  -- USAGE goes to the callers of auth_org_id(), for warden.request_org().
  AND NOT (pv = 'USAGE' AND pg_catalog.has_function_privilege(r.oid, 'public.auth_org_id()', 'EXECUTE')
           AND pg_catalog.to_regprocedure('warden.request_org()') IS NOT NULL)`); err != nil {
		return nil, err
	}

	// warden's tables (backfill bookkeeping): nothing for PUBLIC or the
	// API roles.
	if err := collect(ctx, q, &problems, `
SELECT pg_catalog.format('%I.%I: %s has %s', n.nspname, c.relname,
         CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, a.privilege_type)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
     pg_catalog.aclexplode(c.relacl) a
WHERE n.nspname = 'warden'
  AND (a.grantee = 0 OR a.grantee IN (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = ANY (`+apiRolesSQL+`)))`); err != nil {
		return nil, err
	}

	// Every scoped table and each of its partitions: RLS on, warden's
	// restrictive policies exactly as generated, the permissive one only
	// where the app has none, and the immutability trigger ALWAYS.
	type target struct {
		tp   *classify.TablePlan
		name string
	}
	var targets []target
	for _, tp := range plan.Scoped {
		targets = append(targets, target{tp, pgx.Identifier{tp.Table.Schema, tp.Table.Name}.Sanitize()})
		for _, p := range tp.Table.Partitions {
			targets = append(targets, target{tp, pgx.Identifier{p.Schema, p.Name}.Sanitize()})
		}
	}
	// The policy expression as pg_get_expr prints it (quote_ident: quotes
	// only where needed).
	var want string
	if err := collectOne(ctx, q, &want, `SELECT pg_catalog.format('(%s = ( SELECT auth_org_id() AS auth_org_id))', pg_catalog.quote_ident($1))`, plan.Policy.Tenant.Column); err != nil {
		return nil, err
	}
	for _, tg := range targets {
		names := Names(plan, tg.tp)
		var rls bool
		var trig *string
		var pols [][]string // name, permissive, cmd, using, check, roles
		rows, err := q.Query(ctx, `
SELECT c.relrowsecurity,
       (SELECT t.tgenabled::text FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = $2),
       ARRAY(SELECT ARRAY[p.polname::text, p.polpermissive::text, p.polcmd::text,
                          coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), ''),
                          coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), ''),
                          p.polroles::text]
             FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid AND p.polname LIKE 'warden\_org\_%'
             ORDER BY p.polname)
FROM pg_catalog.pg_class c WHERE c.oid = $1::regclass`, tg.name, names.ImmutableTrigger)
		if err != nil {
			return nil, err
		}
		if !rows.Next() {
			rows.Close()
			report("%s: missing", tg.name)
			continue
		}
		if err := rows.Scan(&rls, &trig, &pols); err != nil {
			rows.Close()
			return nil, err
		}
		rows.Close()
		if !rls {
			report("%s: row-level security is not enabled", tg.name)
		}
		switch {
		case trig == nil:
			report("%s: immutability trigger %s is missing", tg.name, names.ImmutableTrigger)
		case *trig != "A":
			report("%s: immutability trigger enabled %q, want ALWAYS (\"A\")", tg.name, *trig)
		}
		byName := map[string][]string{}
		for _, p := range pols {
			// Policies print names relative to the search_path.
			p[3], p[4] = strings.ReplaceAll(p[3], "public.auth_org_id", "auth_org_id"), strings.ReplaceAll(p[4], "public.auth_org_id", "auth_org_id")
			byName[p[0]] = p
		}
		cmds := map[string]string{"select": "r", "insert": "a", "update": "w", "delete": "d"}
		for _, name := range names.Policies {
			cmd := cmds[strings.TrimPrefix(name, policyPrefix)]
			using, check := want, want
			switch cmd {
			case "r", "d":
				check = ""
			case "a":
				using = ""
			}
			expect := []string{name, "false", cmd, using, check, "{0}"}
			got, ok := byName[name]
			switch {
			case !ok:
				report("%s: policy %s is missing", tg.name, name)
			case !slices.Equal(got, expect):
				report("%s: policy %s is %q, want %q", tg.name, name, got, expect)
			}
		}
		perm, ok := byName[names.PermissivePolicy]
		switch {
		case ok && !AddsPermissivePolicy(tg.tp):
			report("%s: permissive %s widens the app's own policies", tg.name, names.PermissivePolicy)
		case !ok && AddsPermissivePolicy(tg.tp):
			report("%s: permissive %s is missing, so the table is dark for org members", tg.name, names.PermissivePolicy)
		case ok && !slices.Equal(perm, []string{names.PermissivePolicy, "true", "*", want, want, "{0}"}):
			report("%s: policy %s is %q", tg.name, names.PermissivePolicy, perm)
		}
	}
	slices.Sort(problems)
	return problems, nil
}

func collectOne(ctx context.Context, q querier, out *string, sql string, args ...any) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("security: %w\n%s", err, sql)
	}
	v, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("security: %w\n%s", err, sql)
	}
	*out = v
	return nil
}

// collect appends the single text column of every row of sql.
func collect(ctx context.Context, q querier, out *[]string, sql string) error {
	rows, err := q.Query(ctx, sql)
	if err != nil {
		return fmt.Errorf("security: %w\n%s", err, sql)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("security: %w\n%s", err, sql)
	}
	*out = append(*out, got...)
	return nil
}

// TestSecurityHardening: the migrated example app breaks no hardening
// rule: search_path pinned (bar the two committing procedures, whose
// relation names are all qualified), SECURITY DEFINER only in schema
// warden, no EXECUTE or schema USAGE for PUBLIC and the API roles (but
// USAGE and warden.request_org() for the callers of auth_org_id()), RLS and
// warden's policies on every scoped table and partition, immutability
// triggers enabled ALWAYS.
func TestSecurityHardening(t *testing.T) {
	e := loadExample(t, 1000)
	e.up(t, nil)
	got, err := securityProblems(context.Background(), e.conn, e.plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got {
		t.Error(p)
	}
}

// TestSecurityNegativeControl weakens a migrated database one rule at a
// time (inside a transaction, rolled back) and expects securityProblems to
// report exactly the weakening; an unmigrated database must fail too.
func TestSecurityNegativeControl(t *testing.T) {
	e := loadExample(t, 1000)
	ctx := context.Background()

	before, err := securityProblems(ctx, e.conn, e.plan)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(before, "schema warden is missing") || !slices.Contains(before, `"public"."calls": row-level security is not enabled`) {
		t.Errorf("an unmigrated database passes the hardening checks:\n%s", strings.Join(before, "\n"))
	}

	e.up(t, nil)
	baseline, err := securityProblems(ctx, e.conn, e.plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, sql string
		want      []string
	}{
		{"search_path reset", `ALTER FUNCTION warden.user_org(uuid) RESET search_path`,
			[]string{"warden.user_org(p_user uuid): no SET search_path = ''"}},
		{"search_path not empty", `ALTER FUNCTION public.auth_org_id() SET search_path = public`,
			[]string{"public.auth_org_id(): no SET search_path = ''"}},
		{"auth_org_id reads a table unpinned", `CREATE OR REPLACE FUNCTION public.auth_org_id() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS 'SELECT org_id FROM organization_members LIMIT 1'`,
			[]string{"public.auth_org_id(): reads a table without a pinned search_path"}},
		{"EXECUTE for anon", `GRANT EXECUTE ON FUNCTION warden.user_claim_org(uuid) TO anon`,
			[]string{"warden.user_claim_org(p_user uuid): anon can EXECUTE"}},
		{"EXECUTE for PUBLIC", `GRANT EXECUTE ON FUNCTION warden.tenant_column_immutable() TO PUBLIC`,
			[]string{
				"warden.tenant_column_immutable(): PUBLIC can EXECUTE",
				"warden.tenant_column_immutable(): anon can EXECUTE",
				"warden.tenant_column_immutable(): authenticated can EXECUTE",
			}},
		{"auth_org_id not callable by authenticated", `REVOKE EXECUTE ON FUNCTION public.auth_org_id() FROM authenticated`,
			[]string{"public.auth_org_id(): authenticated cannot EXECUTE, so every policy fails for it",
				// USAGE on warden is for the callers of auth_org_id() only.
				"schema warden: authenticated has USAGE"}},
		{"auth_org_id SECURITY DEFINER", `ALTER FUNCTION public.auth_org_id() SECURITY DEFINER`,
			// Unpinned is allowed only for the invoker's function, which the
			// planner inlines.
			[]string{"public.auth_org_id(): SECURITY DEFINER", "public.auth_org_id(): SECURITY DEFINER outside schema warden", "public.auth_org_id(): no SET search_path = ''"}},
		{"SECURITY DEFINER in public", `CREATE FUNCTION public.sneaky() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = '' AS 'SELECT 1'`,
			[]string{"public.sneaky(): SECURITY DEFINER outside schema warden"}},
		// A function created without REVOKE is executable by PUBLIC, and so
		// by every role.
		{"unknown procedure without search_path", `CREATE PROCEDURE warden.sneaky() LANGUAGE sql AS 'SELECT 1'`,
			[]string{
				"warden.sneaky(): no SET search_path = ''",
				"warden.sneaky(): PUBLIC can EXECUTE",
				"warden.sneaky(): anon can EXECUTE",
				"warden.sneaky(): authenticated can EXECUTE",
			}},
		{"unqualified name in a committing procedure", `CREATE OR REPLACE PROCEDURE warden.backfill_user_claims(p_batch_size integer DEFAULT 1)
LANGUAGE plpgsql AS $$BEGIN UPDATE users SET raw_app_meta_data = '{}'; COMMIT; END$$`,
			[]string{"warden.backfill_user_claims(IN p_batch_size integer): unqualified relation users in a procedure without a pinned search_path"}},
		{"schema USAGE for anon", `GRANT USAGE ON SCHEMA warden TO anon`,
			[]string{"schema warden: anon has USAGE"}},
		{"membership lookup for anon", `GRANT EXECUTE ON FUNCTION warden.request_org() TO anon`,
			[]string{"warden.request_org(): anon can EXECUTE"}},
		{"membership lookup as invoker", `ALTER FUNCTION warden.request_org() SECURITY INVOKER`,
			[]string{"warden.request_org(): not SECURITY DEFINER, so the membership table's own policies filter the lookup"}},
		{"schema CREATE for PUBLIC", `GRANT CREATE ON SCHEMA warden TO PUBLIC`,
			[]string{"schema warden: PUBLIC has CREATE", "schema warden: anon has CREATE", "schema warden: authenticated has CREATE"}},
		{"bookkeeping readable", `GRANT SELECT ON warden.backfill_progress TO authenticated`,
			[]string{"warden.backfill_progress: authenticated has SELECT"}},
		{"immutability trigger not ALWAYS", `ALTER TABLE public.calls ENABLE TRIGGER zz_warden_org_id_immutable`,
			[]string{`"public"."calls": immutability trigger enabled "O", want ALWAYS ("A")`}},
		{"immutability trigger gone", `DROP TRIGGER zz_warden_org_id_immutable ON public.leads`,
			[]string{`"public"."leads": immutability trigger zz_warden_org_id_immutable is missing`}},
		{"RLS off on a partition", `ALTER TABLE public.usage_events_2024 DISABLE ROW LEVEL SECURITY`,
			[]string{`"public"."usage_events_2024": row-level security is not enabled`}},
		{"restrictive policy dropped", `DROP POLICY warden_org_select ON public.leads`,
			[]string{`"public"."leads": policy warden_org_select is missing`}},
		{"restrictive policy loosened", `ALTER POLICY warden_org_update ON public.calls USING (true)`,
			[]string{`"public"."calls": policy warden_org_update is ["warden_org_update" "false" "w" "true" "(org_id = ( SELECT auth_org_id() AS auth_org_id))" "{0}"], want ["warden_org_update" "false" "w" "(org_id = ( SELECT auth_org_id() AS auth_org_id))" "(org_id = ( SELECT auth_org_id() AS auth_org_id))" "{0}"]`}},
		{"restrictive policy for authenticated only", `ALTER POLICY warden_org_select ON public.calls TO authenticated`,
			[]string{`"public"."calls": policy warden_org_select is ["warden_org_select" "false" "r" "(org_id = ( SELECT auth_org_id() AS auth_org_id))" "" "{` + e.scalarText(t, `SELECT oid::text FROM pg_roles WHERE rolname = 'authenticated'`) + `}"], want ["warden_org_select" "false" "r" "(org_id = ( SELECT auth_org_id() AS auth_org_id))" "" "{0}"]`}},
		{"permissive policy next to the app's own", `CREATE POLICY warden_org_access ON public.leads USING (true)`,
			[]string{`"public"."leads": permissive warden_org_access widens the app's own policies`}},
		{"permissive policy dropped", `DROP POLICY warden_org_access ON public.calls`,
			[]string{`"public"."calls": permissive warden_org_access is missing, so the table is dark for org members`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tx, err := e.conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, c.sql); err != nil {
				t.Fatalf("%v\n%s", err, c.sql)
			}
			got, err := securityProblems(ctx, tx, e.plan)
			if err != nil {
				t.Fatal(err)
			}
			var added []string
			for _, p := range got {
				if !slices.Contains(baseline, p) {
					added = append(added, p)
				}
			}
			want := slices.Clone(c.want)
			slices.Sort(want)
			if diff := cmp.Diff(want, added); diff != "" {
				t.Errorf("problems found after %s (-want +got):\n%s", c.sql, diff)
			}
		})
	}
}
