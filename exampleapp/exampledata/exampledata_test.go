package exampledata_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/exampleapp/exampledata"
	"github.com/warden-sql/warden/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// schemaDir is the example application's schema/ folder (exampleapp/schema).
func schemaDir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "schema")
}

func readSchema(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(schemaDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// loadSchema loads schema/auth.sql and schema/app.sql the way warden's
// embedded default does: each file as one multi-statement simple query.
func loadSchema(t testing.TB, conn *pgx.Conn) {
	t.Helper()
	for _, f := range []string{"auth.sql", "app.sql"} {
		if _, err := conn.Exec(context.Background(), readSchema(t, f)); err != nil {
			t.Fatalf("loading schema/%s: %v", f, err)
		}
	}
}

// newSchemaDB returns a connection to a fresh database with the example
// schema loaded.
func newSchemaDB(t testing.TB) *pgx.Conn {
	t.Helper()
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	loadSchema(t, conn)
	return conn
}

func newFilledDB(t testing.TB, opts exampledata.Options) *pgx.Conn {
	t.Helper()
	conn := newSchemaDB(t)
	if err := exampledata.Fill(context.Background(), conn, opts); err != nil {
		t.Fatal(err)
	}
	return conn
}

// tables lists the tables holding rows: ordinary and partitioned tables of
// public (partitions included) and auth.users.
func tables(t testing.TB, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `
		select c.oid::regclass::text
		from pg_class c
		where (c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p'))
		   or c.oid = 'auth.users'::regclass
		order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func queryInt(t testing.TB, conn *pgx.Conn, sql string) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	return n
}

// checksums returns an md5 of every table's rows (in a canonical order).
func checksums(t testing.TB, conn *pgx.Conn) map[string]string {
	t.Helper()
	sums := map[string]string{}
	for _, tbl := range tables(t, conn) {
		var sum string
		q := fmt.Sprintf(`select md5(coalesce(string_agg(t::text, E'\n' order by t::text), '')) from only %s t`, tbl)
		if err := conn.QueryRow(context.Background(), q).Scan(&sum); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		sums[tbl] = sum
	}
	return sums
}

// danglingForeignKeys checks every foreign key of public and auth by an
// anti-join (Fill may load with triggers off, so nothing else checked them).
func danglingForeignKeys(t testing.TB, conn *pgx.Conn) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, `
		select con.conname,
		       con.conrelid::regclass::text,
		       con.confrelid::regclass::text,
		       array(select format('%I', a.attname) from unnest(con.conkey) with ordinality k(att, i)
		             join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.att order by k.i),
		       array(select format('%I', a.attname) from unnest(con.confkey) with ordinality k(att, i)
		             join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.att order by k.i)
		from pg_constraint con
		join pg_class r on r.oid = con.conrelid
		where con.contype = 'f'
		  and r.relnamespace in ('public'::regnamespace, 'auth'::regnamespace)
		  and not r.relispartition
		order by 2, 1`)
	if err != nil {
		t.Fatal(err)
	}
	type fk struct {
		name, child, parent string
		ccols, pcols        []string
	}
	var fks []fk
	for rows.Next() {
		var f fk
		if err := rows.Scan(&f.name, &f.child, &f.parent, &f.ccols, &f.pcols); err != nil {
			t.Fatal(err)
		}
		fks = append(fks, f)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(fks) < 50 {
		t.Fatalf("only %d foreign keys found", len(fks))
	}
	var bad []string
	for _, f := range fks {
		var notNull, cc, pc []string
		for i := range f.ccols {
			notNull = append(notNull, "c."+f.ccols[i]+" is not null")
			cc = append(cc, "c."+f.ccols[i])
			pc = append(pc, "p."+f.pcols[i])
		}
		q := fmt.Sprintf(`select count(*) from %s c where %s and not exists (select 1 from %s p where (%s) = (%s))`,
			f.child, strings.Join(notNull, " and "), f.parent, strings.Join(pc, ", "), strings.Join(cc, ", "))
		if n := queryInt(t, conn, q); n > 0 {
			bad = append(bad, fmt.Sprintf("%s on %s: %d rows", f.name, f.child, n))
		}
	}
	return bad
}

func TestSchemaLoadsWithPsqlSemantics(t *testing.T) {
	t.Parallel()
	// auth.sql is idempotent within a database and creates the cluster-wide
	// roles only when missing: loading it again must not fail.
	conn := newSchemaDB(t)
	pgtest.Exec(t, conn, readSchema(t, "auth.sql"))
	var roles []string
	rows, err := conn.Query(context.Background(), `
		select rolname || ':' || rolcanlogin || ':' || rolbypassrls
		from pg_roles where rolname in ('anon', 'authenticated', 'service_role') order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	roles, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"anon:false:false", "authenticated:false:false", "service_role:false:true"}
	if diff := cmp.Diff(want, roles); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	// No psql meta-commands: warden and the tests run the files through pgx.
	for _, f := range []string{"auth.sql", "app.sql"} {
		if m := regexp.MustCompile(`(?m)^\s*\\`).FindString(readSchema(t, f)); m != "" {
			t.Errorf("schema/%s contains a psql meta-command", f)
		}
	}
}

func TestAuthFunctions(t *testing.T) {
	t.Parallel()
	conn := newSchemaDB(t)
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var uid, jwt *string
	if err := tx.QueryRow(ctx, `select auth.uid()::text, auth.jwt()::text`).Scan(&uid, &jwt); err != nil {
		t.Fatal(err)
	}
	if uid != nil || jwt != nil {
		t.Errorf("without claims: auth.uid() = %v, auth.jwt() = %v, want NULL", uid, jwt)
	}
	const sub = "6c1b4e0e-7f4a-4f52-9a55-8d2b1f2a9c11"
	claims := `{"sub": "` + sub + `", "role": "authenticated", "app_metadata": {"org_id": "a0000000-0000-0000-0000-000000000001"}}`
	if _, err := tx.Exec(ctx, `select set_config('request.jwt.claims', $1, true)`, claims); err != nil {
		t.Fatal(err)
	}
	var gotUID, gotOrg, gotRole string
	err = tx.QueryRow(ctx, `select auth.uid()::text, auth.jwt() -> 'app_metadata' ->> 'org_id', auth.role()`).
		Scan(&gotUID, &gotOrg, &gotRole)
	if err != nil {
		t.Fatal(err)
	}
	if gotUID != sub || gotOrg != "a0000000-0000-0000-0000-000000000001" || gotRole != "authenticated" {
		t.Errorf("with claims: uid %s, org %s, role %s", gotUID, gotOrg, gotRole)
	}
	// The legacy per-claim setting wins for auth.uid(), as in Supabase.
	const legacy = "0f1e2d3c-4b5a-4968-8776-655443322110"
	if _, err := tx.Exec(ctx, `select set_config('request.jwt.claim.sub', $1, true)`, legacy); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, `select auth.uid()::text`).Scan(&gotUID); err != nil {
		t.Fatal(err)
	}
	if gotUID != legacy {
		t.Errorf("legacy claim: auth.uid() = %s, want %s", gotUID, legacy)
	}
}

// TestSchemaClasses derives every public table's class from the catalog, the
// way the policy classifies them, and checks the example schema is what the
// repository's policy.yaml expects: 43 tables to scope (30 direct, 13
// inherited), one ambiguous table (campaign_leads) and one inherited table
// whose only parent key is nullable.
func TestSchemaClasses(t *testing.T) {
	t.Parallel()
	conn := newSchemaDB(t)
	ctx := context.Background()

	rows, err := conn.Query(ctx, `
		select c.oid::regclass::text
		from pg_class c
		where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition`)
	if err != nil {
		t.Fatal(err)
	}
	all, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}

	// Ownership columns: user_id, owner_id, created_by (FK to auth.users, or
	// created_by of type text).
	rows, err = conn.Query(ctx, `
		select a.attrelid::regclass::text, a.attname,
		       exists (select 1 from pg_constraint f
		               where f.conrelid = a.attrelid and f.contype = 'f'
		                 and f.confrelid = 'auth.users'::regclass and f.conkey = array[a.attnum]),
		       format_type(a.atttypid, a.atttypmod)
		from pg_attribute a
		join pg_class c on c.oid = a.attrelid
		where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
		  and a.attname in ('user_id', 'owner_id', 'created_by') and not a.attisdropped`)
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{}
	for rows.Next() {
		var tbl, col, typ string
		var fk bool
		if err := rows.Scan(&tbl, &col, &fk, &typ); err != nil {
			t.Fatal(err)
		}
		if !fk && !(col == "created_by" && typ == "text") {
			t.Errorf("%s.%s is %s without a foreign key to auth.users", tbl, col, typ)
		}
		if prev, ok := owner[tbl]; ok {
			t.Errorf("%s has two ownership columns: %s and %s", tbl, prev, col)
		}
		owner[tbl] = col
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	// Foreign keys between public tables (self references left out), with
	// whether every referencing column is nullable.
	type edge struct {
		parent   string
		nullable bool
	}
	rows, err = conn.Query(ctx, `
		select f.conrelid::regclass::text, f.confrelid::regclass::text,
		       bool_and(not a.attnotnull)
		from pg_constraint f
		join pg_attribute a on a.attrelid = f.conrelid and a.attnum = any (f.conkey)
		where f.contype = 'f' and f.connamespace = 'public'::regnamespace
		  and f.confrelid <> f.conrelid
		  and (select relnamespace from pg_class where oid = f.confrelid) = 'public'::regnamespace
		group by f.oid, 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	parents := map[string][]edge{}
	for rows.Next() {
		var child, parent string
		var nullable bool
		if err := rows.Scan(&child, &parent, &nullable); err != nil {
			t.Fatal(err)
		}
		parents[child] = append(parents[child], edge{parent, nullable})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	class := map[string]string{
		"organizations":        "tenant",
		"organization_members": "tenant",
		"user_credits":         "excluded",
		"user_subscriptions":   "excluded",
		"customers":            "excluded",
		"subscription_plans":   "global",
	}
	for tbl, col := range owner {
		if class[tbl] == "" {
			class[tbl] = "direct:" + col
		}
	}
	scoped := func(tbl string) bool {
		c := class[tbl]
		return strings.HasPrefix(c, "direct") || strings.HasPrefix(c, "inherited")
	}
	// Inherited tables, to a fixpoint: candidates are the scoped parents.
	for changed := true; changed; {
		changed = false
		for _, tbl := range all {
			if class[tbl] != "" {
				continue
			}
			var cands []string
			nullable := true
			for _, e := range parents[tbl] {
				if scoped(e.parent) {
					cands = append(cands, e.parent)
					nullable = nullable && e.nullable
				}
			}
			sort.Strings(cands)
			cands = compactStrings(cands)
			switch {
			case len(cands) == 1 && nullable:
				class[tbl] = "inherited:" + cands[0] + " (nullable)"
			case len(cands) == 1:
				class[tbl] = "inherited:" + cands[0]
			case len(cands) > 1:
				class[tbl] = "inherited:ambiguous " + strings.Join(cands, ",")
			default:
				continue
			}
			changed = true
		}
	}
	want := map[string]string{
		"organizations": "tenant", "organization_members": "tenant",
		"user_credits": "excluded", "user_subscriptions": "excluded", "customers": "excluded",
		"subscription_plans": "global",

		"agent_configurations":     "direct:user_id",
		"appointments":             "direct:user_id",
		"billing_cycles":           "direct:user_id",
		"call_lists":               "direct:user_id",
		"calls":                    "direct:user_id",
		"campaigns":                "direct:user_id",
		"cold_call_logs":           "direct:user_id",
		"compliance_audit_logs":    "direct:user_id",
		"consent_records":          "direct:user_id",
		"contacts":                 "direct:user_id",
		"credential_tokens":        "direct:user_id",
		"credit_transactions":      "direct:user_id",
		"customer_twilio_keys":     "direct:created_by",
		"daily_lead_uploads":       "direct:user_id",
		"dnc_list":                 "direct:user_id",
		"knowledge_base":           "direct:user_id",
		"knowledge_base_changelog": "direct:user_id",
		"leads":                    "direct:user_id",
		"notification_history":     "direct:user_id",
		"notification_rate_limits": "direct:user_id",
		"notification_templates":   "direct:created_by",
		"onboarding_events":        "direct:user_id",
		"payments":                 "direct:user_id",
		"phone_assistants":         "direct:owner_id",
		"telephony_audit_log":      "direct:user_id",
		"usage_events":             "direct:user_id",
		"usage_records":            "direct:user_id",
		"user_active_calls":        "direct:user_id",
		"user_phone_numbers":       "direct:user_id",
		"user_twilio_subaccounts":  "direct:user_id",

		`"LeadScores"`:             "inherited:campaign_leads",
		"call_logs":                "inherited:calls",
		"call_recordings":          "inherited:calls",
		"campaign_leads":           "inherited:ambiguous campaigns,leads",
		"campaign_phone_numbers":   "inherited:campaigns",
		"campaign_summaries":       "inherited:campaigns",
		"embeddings":               "inherited:knowledge_base_chunks",
		"kb_sync_log":              "inherited:knowledge_base",
		"knowledge_base_chunks":    "inherited:knowledge_base_documents",
		"knowledge_base_documents": "inherited:knowledge_base",
		"payment_events_log":       "inherited:payments",
		"sentiment_analysis":       "inherited:calls",
		"voicemail_audit_log":      "inherited:calls (nullable)",
	}
	got := map[string]string{}
	for _, tbl := range all {
		got[tbl] = class[tbl]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("table classes (-want +got):\n%s", diff)
	}
	var n int
	for _, c := range got {
		if strings.HasPrefix(c, "direct") || strings.HasPrefix(c, "inherited") {
			n++
		}
	}
	if n != 43 {
		t.Errorf("%d tables to scope, want 43", n)
	}
	if n := queryInt(t, conn, `select count(*) from information_schema.columns
		where table_schema = 'public' and column_name = 'org_id'`); n != 1 {
		t.Errorf("%d tables have org_id, want only organization_members", n)
	}
}

func compactStrings(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func TestFill(t *testing.T) {
	t.Parallel()
	opts := exampledata.Options{RowsPerTable: 2000, Seed: 42}
	conn := newFilledDB(t, opts)

	for _, tbl := range tables(t, conn) {
		if n := queryInt(t, conn, "select count(*) from "+tbl); n == 0 {
			t.Errorf("%s has no rows", tbl)
		}
	}
	sizes := exampledata.Sizes(opts)
	if n := queryInt(t, conn, "select count(*) from public.call_logs"); n != 2000 {
		t.Errorf("call_logs has %d rows, want RowsPerTable 2000", n)
	}
	if n := queryInt(t, conn, "select count(*) from auth.users"); n != int64(sizes["users"]) {
		t.Errorf("auth.users has %d rows, want %d", n, sizes["users"])
	}

	// The cases an org backfill must handle.
	checks := map[string]string{
		"users without membership": `select count(*) from auth.users u
			where not exists (select 1 from public.organization_members m where m.user_id = u.id)`,
		"users in two orgs, one primary": `select count(*) from (select user_id from public.organization_members
			group by user_id having count(*) = 2 and bool_or(is_primary)) s`,
		"users in two orgs, none primary, tied age": `select count(*) from (select user_id from public.organization_members
			group by user_id having count(*) = 2 and not bool_or(is_primary) and count(distinct created_at) = 1) s`,
		"users in two orgs, none primary, oldest wins": `select count(*) from (select user_id from public.organization_members
			group by user_id having count(*) = 2 and not bool_or(is_primary) and count(distinct created_at) = 2) s`,
		"users with org_id in app_metadata already": `select count(*) from auth.users where raw_app_meta_data ? 'org_id'`,
		"direct rows with NULL user_id":             `select count(*) from public.dnc_list where user_id is null`,
		"audit rows with NULL user_id":              `select count(*) from public.compliance_audit_logs where user_id is null`,
		"no-PK rows with NULL user_id":              `select count(*) from public.telephony_audit_log where user_id is null`,
		"changelog rows with NULL user_id":          `select count(*) from public.knowledge_base_changelog where user_id is null`,
		"system notification templates":             `select count(*) from public.notification_templates where created_by is null`,
		"keys with NULL created_by":                 `select count(*) from public.customer_twilio_keys where created_by is null`,
		"keys created by unknown users": `select count(*) from public.customer_twilio_keys k
			where k.created_by is not null and not exists (select 1 from auth.users u where u.id::text = k.created_by)`,
		"inherited rows with NULL parent":    `select count(*) from public.voicemail_audit_log where call_id is null`,
		"self-referencing calls":             `select count(*) from public.calls where parent_call_id is not null`,
		"self-referencing chunks":            `select count(*) from public.knowledge_base_chunks where previous_chunk_id is not null`,
		"rows in the DEFAULT partition":      `select count(*) from public.usage_events_default`,
		"lead scores (composite FK)":         `select count(*) from public."LeadScores"`,
		"rows of users without a membership": `select count(*) from public.leads l where not exists (select 1 from public.organization_members m where m.user_id = l.user_id)`,
		"pre-set app_metadata matches the membership rule": `select count(*) from auth.users u
			join lateral (select org_id from public.organization_members m where m.user_id = u.id
			              order by is_primary desc, created_at, org_id limit 1) m on true
			where (u.raw_app_meta_data ->> 'org_id')::uuid = m.org_id`,
	}
	for name, q := range checks {
		if n := queryInt(t, conn, q); n == 0 {
			t.Errorf("%s: none", name)
		}
	}
	if n := queryInt(t, conn, `select count(*) from auth.users u
		where u.raw_app_meta_data ? 'org_id' and (u.raw_app_meta_data ->> 'org_id')::uuid is distinct from
		  (select org_id from public.organization_members m where m.user_id = u.id
		   order by is_primary desc, created_at, org_id limit 1)`); n != 0 {
		t.Errorf("%d users carry an app_metadata org_id other than their membership's", n)
	}
	// Owned children belong to their parent's user.
	for name, q := range map[string]string{
		"campaign_leads": `select count(*) from public.campaign_leads cl join public.campaigns c on c.id = cl.campaign_id
			join public.leads l on l.id = cl.lead_id where c.user_id <> l.user_id`,
		"calls.lead_id": `select count(*) from public.calls c join public.leads l on l.id = c.lead_id where c.user_id <> l.user_id`,
		"calls.campaign_id": `select count(*) from public.calls c join public.campaigns p on p.id = c.campaign_id
			where c.user_id <> p.user_id`,
	} {
		if n := queryInt(t, conn, q); n != 0 {
			t.Errorf("%s: %d rows cross users", name, n)
		}
	}

	if bad := danglingForeignKeys(t, conn); len(bad) > 0 {
		t.Errorf("dangling foreign keys:\n%s", strings.Join(bad, "\n"))
	}

	// Sequences continue after the generated ids; triggers are back on.
	pgtest.Exec(t, conn, `insert into public.call_logs (call_id, event)
		select id, 'after_fill' from public.calls limit 1`)
	pgtest.Exec(t, conn, `insert into public.usage_events (user_id, event_type)
		select id, 'after_fill' from auth.users limit 1`)
	var role string
	if err := conn.QueryRow(context.Background(), `show session_replication_role`).Scan(&role); err != nil {
		t.Fatal(err)
	}
	if role != "origin" {
		t.Errorf("session_replication_role is %q after Fill, want origin", role)
	}
	if _, err := conn.Exec(context.Background(), `insert into public.call_logs (call_id, event)
		values ('00000000-0000-0000-0000-0000000000ff', 'dangling')`); err == nil {
		t.Error("foreign keys are not enforced after Fill")
	}
	// Statistics are fresh.
	if n := queryInt(t, conn, `select reltuples::bigint from pg_class where oid = 'public.call_logs'::regclass`); n < 1000 {
		t.Errorf("call_logs reltuples %d: not analyzed", n)
	}

	if err := exampledata.Fill(context.Background(), conn, opts); err == nil {
		t.Error("a second Fill into the same database succeeded")
	}
}

func TestFillIsDeterministic(t *testing.T) {
	t.Parallel()
	opts := exampledata.Options{RowsPerTable: 1000, Seed: 7}
	a := checksums(t, newFilledDB(t, opts))
	b := checksums(t, newFilledDB(t, opts))
	if len(a) < 50 || a["calls"] == "" {
		t.Fatalf("checksums of only %d tables", len(a))
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two fills with the same options differ (-first +second):\n%s", diff)
	}
	opts.Seed = 8
	c := checksums(t, newFilledDB(t, opts))
	if a["calls"] == c["calls"] || a["auth.users"] == c["auth.users"] {
		t.Error("another seed gives the same calls")
	}
}

// TestFillWithForeignKeyChecks fills as a role that may write the tables (and
// bypass RLS, like service_role) but not switch triggers off: every foreign
// key is then checked row by row, which proves that Fill writes parents before
// children, and the rows are the same.
func TestFillWithForeignKeyChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	role := fmt.Sprintf("exampledata_filler_%d", os.Getpid())
	// Roles are cluster-wide: drop it after the test's databases are gone
	// (cleanups run last-registered first).
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, pgtest.Server(t).URL("postgres"))
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "drop role if exists "+role); err != nil {
			t.Error(err)
		}
	})
	conn := newSchemaDB(t)
	pgtest.Exec(t, conn, fmt.Sprintf(`drop role if exists %[1]s; create role %[1]s bypassrls`, role))
	pgtest.Exec(t, conn, fmt.Sprintf(`
		grant usage on schema auth, public to %[1]s;
		grant all on all tables in schema auth, public to %[1]s;
		grant all on all sequences in schema public to %[1]s;
		set role %[1]s`, role))
	opts := exampledata.Options{RowsPerTable: 500, Seed: 3}
	if err := exampledata.Fill(ctx, conn, opts); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, conn, "reset role")
	for _, tbl := range tables(t, conn) {
		if n := queryInt(t, conn, "select count(*) from "+tbl); n == 0 {
			t.Errorf("%s has no rows", tbl)
		}
	}
	// Same rows as a superuser fill.
	want := checksums(t, newFilledDB(t, opts))
	if diff := cmp.Diff(want, checksums(t, conn)); diff != "" {
		t.Errorf("fill with foreign-key checks differs (-superuser +role):\n%s", diff)
	}
}

// TestFillInsideTransaction runs Fill inside the caller's transaction: the
// settings it changes for the load must be back when it returns.
func TestFillInsideTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := newSchemaDB(t)
	const settings = `select current_setting('session_replication_role') || ' ' ||
		current_setting('work_mem') || ' ' || current_setting('default_statistics_target')`
	var before, after string
	if err := conn.QueryRow(ctx, settings).Scan(&before); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, conn, "begin")
	if err := exampledata.Fill(ctx, conn, exampledata.Options{RowsPerTable: 100}); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, settings).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("settings inside the transaction after Fill: %q, want %q", after, before)
	}
	pgtest.Exec(t, conn, "rollback")
	if n := queryInt(t, conn, "select count(*) from auth.users"); n != 0 {
		t.Errorf("rolled back Fill left %d users", n)
	}
}

func TestFillTiny(t *testing.T) {
	t.Parallel()
	// The smallest size still gives every table rows; a single org and a
	// single user work.
	for _, opts := range []exampledata.Options{
		{RowsPerTable: 1},
		{RowsPerTable: 10, Users: 1, Orgs: 1},
	} {
		conn := newFilledDB(t, opts)
		for _, tbl := range tables(t, conn) {
			if n := queryInt(t, conn, "select count(*) from "+tbl); n == 0 {
				t.Errorf("%+v: %s has no rows", opts, tbl)
			}
		}
		if bad := danglingForeignKeys(t, conn); len(bad) > 0 {
			t.Errorf("%+v: dangling foreign keys:\n%s", opts, strings.Join(bad, "\n"))
		}
	}
}

func TestFillRejectsBadOptions(t *testing.T) {
	t.Parallel()
	conn := newSchemaDB(t)
	for _, opts := range []exampledata.Options{
		{RowsPerTable: -1},
		{Users: -1},
		{Orgs: -2},
	} {
		if err := exampledata.Fill(context.Background(), conn, opts); err == nil {
			t.Errorf("Fill(%+v) succeeded", opts)
		}
	}
	empty := pgtest.Connect(t, pgtest.NewDB(t))
	err := exampledata.Fill(context.Background(), empty, exampledata.Options{})
	if err == nil || !strings.Contains(err.Error(), "schema") {
		t.Errorf("Fill without the schema: %v", err)
	}
}

func TestSizes(t *testing.T) {
	t.Parallel()
	s := exampledata.Sizes(exampledata.Options{RowsPerTable: 1_000_000})
	if s["call_logs"] != 1_000_000 {
		t.Errorf("call_logs %d", s["call_logs"])
	}
	for name, n := range s {
		if n > 1_000_000 {
			t.Errorf("%s: %d rows above RowsPerTable", name, n)
		}
	}
	d := exampledata.Options{}.WithDefaults()
	if d.RowsPerTable != exampledata.DefaultRows || d.Users < 1 || d.Orgs < 1 {
		t.Errorf("defaults %+v", d)
	}
}

// BenchmarkFill measures Fill at 100k rows in the largest table (set
// EXAMPLEDATA_BENCH_ROWS to change it), one fresh database per iteration.
func BenchmarkFill(b *testing.B) {
	rows := 100_000
	if v := os.Getenv("EXAMPLEDATA_BENCH_ROWS"); v != "" {
		if _, err := fmt.Sscan(v, &rows); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		conn := newSchemaDB(b)
		b.StartTimer()
		if err := exampledata.Fill(context.Background(), conn, exampledata.Options{RowsPerTable: rows}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows), "rows/largest-table")
}
