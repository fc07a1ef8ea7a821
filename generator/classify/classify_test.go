package classify

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// classPrelude is the part of every case's schema that the policy needs:
// the users table the ownership FKs point at and the tenant table.
const classPrelude = `
create schema auth;
create table auth.users (id uuid primary key);
create table organizations (id uuid primary key, name text not null default '');
`

// classPolicy is the head of every case's policy; the case appends its own
// keys, which therefore start on line 8 of "policy.yaml".
const classPolicy = `version: 1
schemas: [public]
tenant:
  table: organizations
  default_org: a0000000-0000-0000-0000-000000000001
migrations:
  version: "20250110000000"
`

// tableWant is what a case asserts about one table.
type tableWant struct {
	Class    Class
	Reason   string
	Depth    int
	Nullable bool
	Critical bool
	Notes    []string
}

func summarize(p *Plan) map[string]tableWant {
	out := map[string]tableWant{}
	for _, tp := range p.Tables {
		out[tp.Name()] = tableWant{
			Class: tp.Class, Reason: tp.Reason, Depth: tp.Depth,
			Nullable: tp.NullablePath, Critical: tp.Critical, Notes: tp.Notes,
		}
	}
	return out
}

func problemStrings(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Error())
	}
	return out
}

func tableNames(tps []*TablePlan) []string {
	var out []string
	for _, tp := range tps {
		out = append(out, tp.Name())
	}
	return out
}

// classifySQL loads schema into a fresh database and classifies it under
// the policy text (classPolicy + extra).
func classifySQL(t *testing.T, schema, extra string, edit func(*policy.Policy)) (*Plan, *introspect.Database) {
	t.Helper()
	pol, err := policy.Parse("policy.yaml", []byte(classPolicy+extra))
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	if edit != nil {
		edit(pol)
	}
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	pgtest.Exec(t, conn, classPrelude+schema)
	db, err := introspect.Inspect(context.Background(), conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	return Classify(db, pol), db
}

const (
	rootReason  = "the tenant table (policy tenant.table)"
	nullableTag = " (nullable: rows with a NULL foreign key get the default org)"
	userFK      = " → auth.users"
	implicitGlb = "no ownership column and no foreign-key path to a scoped table (not listed; treated as global)"
	noDecision  = ": add it to scope (moves to org ownership), exclude (stays user-owned) or global (shared, no owner) in policy.yaml"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		policy string
		edit   func(*policy.Policy) // states Parse refuses, to test the classifier's own guard
		// want lists every table but organizations, which is always the
		// tenant root.
		want     map[string]tableWant
		order    []string // Plan.Scoped, when asserted
		problems []string
		warnings []string
	}{
		{
			name: "depth-3 chain",
			schema: `
create table knowledge_base (id uuid primary key, user_id uuid not null references auth.users);
create table documents (id uuid primary key, kb_id uuid not null references knowledge_base);
create table chunks (id uuid primary key, document_id uuid not null references documents);
create table embeddings (id uuid primary key, chunk_id uuid not null references chunks on delete cascade);`,
			policy: "scope: [embeddings, chunks, documents, knowledge_base]\ncritical: [embeddings]\n",
			want: map[string]tableWant{
				"public.knowledge_base": {Class: Direct, Reason: "ownership column user_id" + userFK},
				"public.documents":      {Class: Inherited, Depth: 1, Reason: "foreign-key path public.documents(kb_id) → public.knowledge_base(user_id)"},
				"public.chunks":         {Class: Inherited, Depth: 2, Reason: "foreign-key path public.chunks(document_id) → public.documents(kb_id) → public.knowledge_base(user_id)"},
				"public.embeddings": {Class: Inherited, Depth: 3, Critical: true,
					Reason: "foreign-key path public.embeddings(chunk_id) → public.chunks(document_id) → public.documents(kb_id) → public.knowledge_base(user_id)"},
			},
			order: []string{"public.knowledge_base", "public.documents", "public.chunks", "public.embeddings"},
		},
		{
			name: "composite-FK chain",
			schema: `
create table campaigns (id uuid primary key, user_id uuid not null references auth.users);
create table campaign_leads (
  campaign_id uuid not null references campaigns, lead_no int not null,
  primary key (campaign_id, lead_no));
create table lead_scores (
  id bigint generated always as identity primary key,
  campaign_id uuid not null, lead_no int not null, score int,
  foreign key (campaign_id, lead_no) references campaign_leads);`,
			policy: "scope: [campaigns, campaign_leads, lead_scores]\n",
			want: map[string]tableWant{
				"public.campaigns":      {Class: Direct, Reason: "ownership column user_id" + userFK},
				"public.campaign_leads": {Class: Inherited, Depth: 1, Reason: "foreign-key path public.campaign_leads(campaign_id) → public.campaigns(user_id)"},
				"public.lead_scores": {Class: Inherited, Depth: 2,
					Reason: "foreign-key path public.lead_scores(campaign_id, lead_no) → public.campaign_leads(campaign_id) → public.campaigns(user_id)"},
			},
			order: []string{"public.campaigns", "public.campaign_leads", "public.lead_scores"},
		},
		{
			name: "nullable-only path is flagged",
			schema: `
create table calls (id uuid primary key, user_id uuid not null references auth.users);
create table voicemail_audit_log (id uuid primary key, call_id uuid references calls);`,
			policy: "scope: [calls, voicemail_audit_log]\n",
			want: map[string]tableWant{
				"public.calls": {Class: Direct, Reason: "ownership column user_id" + userFK},
				"public.voicemail_audit_log": {Class: Inherited, Depth: 1, Nullable: true,
					Reason: "foreign-key path public.voicemail_audit_log(call_id) → public.calls(user_id)" + nullableTag},
			},
			problems: []string{"public.voicemail_audit_log: its org comes only from nullable sources (parent public.calls via call_id (its org, nullable)): rows with NULL in each have no org to take and would all go to the default org. Decide in policy.yaml: make a column NOT NULL, name a source every row has with tables: {public.voicemail_audit_log: {org_from: <column or parent>}}, or accept the default org for them with tables: {public.voicemail_audit_log: {when_null: default_org}}"},
		},
		{
			name: "a nullable-only path the policy decided is no problem",
			schema: `
create table calls (id uuid primary key, user_id uuid not null references auth.users);
create table voicemail_audit_log (id uuid primary key, call_id uuid references calls);`,
			policy: "scope: [calls, voicemail_audit_log]\ntables:\n  voicemail_audit_log:\n    null_parent: default_org\n",
			want: map[string]tableWant{
				"public.calls": {Class: Direct, Reason: "ownership column user_id" + userFK},
				"public.voicemail_audit_log": {Class: Inherited, Depth: 1, Nullable: true,
					Reason: "foreign-key path public.voicemail_audit_log(call_id) → public.calls(user_id)" + nullableTag},
			},
		},
		{
			name: "a NOT NULL path beats a shorter nullable one",
			schema: `
create table calls (id uuid primary key, user_id uuid not null references auth.users);
create table call_logs (id uuid primary key, call_id uuid not null references calls);
create table transcripts (id uuid primary key,
  call_id uuid references calls,
  log_id uuid not null references call_logs);`,
			policy: "scope: [calls, call_logs, transcripts]\n",
			want: map[string]tableWant{
				"public.calls":     {Class: Direct, Reason: "ownership column user_id" + userFK},
				"public.call_logs": {Class: Inherited, Depth: 1, Reason: "foreign-key path public.call_logs(call_id) → public.calls(user_id)"},
				"public.transcripts": {Class: Inherited, Depth: 2,
					Reason: "foreign-key path public.transcripts(log_id) → public.call_logs(call_id) → public.calls(user_id)"},
			},
		},
		{
			name:   "ambiguous parents are a problem listing both",
			schema: ambiguousSchema,
			policy: "scope: [campaigns, leads, campaign_leads]\n",
			want: map[string]tableWant{
				"public.campaigns": {Class: Direct, Reason: "ownership column user_id" + userFK},
				"public.leads":     {Class: Direct, Reason: "ownership column user_id" + userFK},
				"public.campaign_leads": {Class: Inherited, Depth: 1,
					Reason: "foreign-key path public.campaign_leads(campaign_id) → public.campaigns(user_id)",
					Notes:  []string{"ambiguous sources: public.campaigns (campaign_id), public.leads (lead_id)"}},
			},
			problems: []string{"public.campaign_leads: 2 sources qualify equally: public.campaigns (campaign_id), public.leads (lead_id); " +
				"choose in policy.yaml with tables: {public.campaign_leads: {org_from: <column or parent>}}"},
		},
		{
			name:   "via settles the ambiguity",
			schema: ambiguousSchema,
			policy: "scope: [campaigns, leads, campaign_leads]\ntables:\n  campaign_leads:\n    via: leads\n",
			want: map[string]tableWant{
				"public.campaigns":      {Class: Direct, Reason: "ownership column user_id" + userFK},
				"public.leads":          {Class: Direct, Reason: "ownership column user_id" + userFK},
				"public.campaign_leads": {Class: Inherited, Depth: 1, Reason: "foreign-key path public.campaign_leads(lead_id) → public.leads(user_id)"},
			},
		},
		{
			name: "two FKs to the same parent are not ambiguous",
			schema: `
create table phone_numbers (id uuid primary key, user_id uuid not null references auth.users);
create table transfers (id uuid primary key,
  to_number uuid not null constraint b_to references phone_numbers,
  from_number uuid not null constraint a_from references phone_numbers);`,
			policy: "scope: [phone_numbers, transfers]\n",
			want: map[string]tableWant{
				"public.phone_numbers": {Class: Direct, Reason: "ownership column user_id" + userFK},
				"public.transfers":     {Class: Inherited, Depth: 1, Reason: "foreign-key path public.transfers(from_number) → public.phone_numbers(user_id)"},
			},
		},
		{
			name: "a cycle with no owner is never a path",
			schema: `
create table a (id uuid primary key, b_id uuid);
create table b (id uuid primary key, a_id uuid not null references a);
alter table a add foreign key (b_id) references b;`,
			policy: "scope: [a, b]\n",
			want: map[string]tableWant{
				"public.a": {Class: Unclassified, Reason: "in scope but no ownership column and no foreign-key path to a scoped table"},
				"public.b": {Class: Unclassified, Reason: "in scope but no ownership column and no foreign-key path to a scoped table"},
			},
			problems: []string{
				"public.a: listed in scope (policy.yaml:8:9) but has no ownership column (user_id) and no foreign-key path to a scoped table; add a via, or list it under global or exclude instead",
				"public.b: listed in scope (policy.yaml:8:12) but has no ownership column (user_id) and no foreign-key path to a scoped table; add a via, or list it under global or exclude instead",
			},
		},
		{
			name: "a cycle with an owner on one side: the other inherits, the owner stays direct",
			schema: `
create table a (id uuid primary key, user_id uuid not null references auth.users, b_id uuid not null);
create table b (id uuid primary key, a_id uuid not null references a);
alter table a add foreign key (b_id) references b deferrable initially deferred;`,
			policy: "scope: [a, b]\n",
			want: map[string]tableWant{
				"public.a": {Class: Direct, Reason: "ownership column user_id" + userFK},
				"public.b": {Class: Inherited, Depth: 1, Reason: "foreign-key path public.b(a_id) → public.a(user_id)"},
			},
			order: []string{"public.a", "public.b"},
		},
		{
			name: "a self reference is never a path",
			schema: `
create table folders (id uuid primary key, parent_id uuid references folders);
create table posts (id uuid primary key, user_id uuid not null references auth.users);
create table comments (id uuid primary key, reply_to uuid not null references comments, post_id uuid references posts);`,
			policy: "scope: [folders, posts, comments]\n",
			want: map[string]tableWant{
				"public.folders": {Class: Unclassified, Reason: "in scope but no ownership column and no foreign-key path to a scoped table"},
				"public.posts":   {Class: Direct, Reason: "ownership column user_id" + userFK},
				"public.comments": {Class: Inherited, Depth: 1, Nullable: true,
					Reason: "foreign-key path public.comments(post_id) → public.posts(user_id)" + nullableTag},
			},
			problems: []string{
				"public.comments: its org comes only from nullable sources (parent public.posts via post_id (its org, nullable)): rows with NULL in each have no org to take and would all go to the default org. Decide in policy.yaml: make a column NOT NULL, name a source every row has with tables: {public.comments: {org_from: <column or parent>}}, or accept the default org for them with tables: {public.comments: {when_null: default_org}}",
				"public.folders: listed in scope (policy.yaml:8:9) but has no ownership column (user_id) and no foreign-key path to a scoped table; add a via, or list it under global or exclude instead",
			},
		},
		{
			name: "already scoped: has org_id and is not in scope",
			schema: `
create table org_settings (id uuid primary key, org_id uuid not null references organizations, user_id uuid references auth.users);
create table calls (id uuid primary key, user_id uuid not null references auth.users, org_id uuid references organizations);`,
			policy: "scope: [calls]\n",
			want: map[string]tableWant{
				"public.org_settings": {Class: AlreadyScoped, Reason: "already has org_id; not in scope: finished as is (index added)"},
				// In scope, it stays direct although org_id exists: the
				// classification must not depend on Phase 2 being applied.
				"public.calls": {Class: Direct, Reason: "ownership column user_id" + userFK},
			},
		},
		{
			name: "a partitioned table is classified once",
			schema: `
create table events (id bigint not null, user_id uuid not null references auth.users, at timestamptz not null,
  primary key (id, at)) partition by range (at);
create table events_2024 partition of events for values from ('2024-01-01') to ('2025-01-01');
create table events_2025 partition of events for values from ('2025-01-01') to ('2026-01-01') partition by hash (id);
create table events_2025_0 partition of events_2025 for values with (modulus 1, remainder 0);
create table event_tags (id bigint primary key, event_id bigint not null, event_at timestamptz not null,
  foreign key (event_id, event_at) references events);`,
			policy: "scope: [events, event_tags]\n",
			want: map[string]tableWant{
				"public.events": {Class: Direct, Reason: "ownership column user_id" + userFK},
				"public.event_tags": {Class: Inherited, Depth: 1,
					Reason: "foreign-key path public.event_tags(event_id, event_at) → public.events(user_id)"},
			},
		},
		{
			name: "integer and text ownership columns without a FK",
			schema: `
create table legacy_jobs (id serial primary key, user_id integer not null);
create table legacy_notes (id serial primary key, user_id text);
create table tickets (id uuid primary key, user_id uuid references auth.users);`,
			policy: "ownership:\n  - column: user_id\n    require_fk: false\nscope: [legacy_jobs, legacy_notes, tickets]\n" +
				"tables:\n  legacy_notes: {when_null: default_org}\n  tickets: {when_null: default_org}\n",
			want: map[string]tableWant{
				"public.legacy_jobs":  {Class: Direct, Reason: "ownership column user_id (integer, not a foreign key: require_fk is false)"},
				"public.legacy_notes": {Class: Direct, Reason: "ownership column user_id (text, not a foreign key: require_fk is false)"},
				// A FK is still used and shown when there is one.
				"public.tickets": {Class: Direct, Reason: "ownership column user_id" + userFK},
			},
		},
		{
			// require_fk decided for one table: the same column name is
			// an owner in legacy_jobs only, and refused in a table whose
			// ownership entry allows it.
			name: "require_fk per table",
			schema: `
create table legacy_jobs (id serial primary key, user_id integer not null);
create table imports (id serial primary key, user_id integer not null);
create table legacy_runs (id serial primary key, created_by text not null);
create table batches (id serial primary key, created_by text not null);`,
			policy: "ownership:\n  - column: user_id\n  - column: created_by\n    require_fk: false\n" +
				"scope: [legacy_jobs, legacy_runs]\nglobal: [imports, batches]\n" +
				"tables:\n  legacy_jobs: {require_fk: false}\n  legacy_runs: {require_fk: true, class: direct}\n",
			want: map[string]tableWant{
				"public.legacy_jobs": {Class: Direct, Reason: "ownership column user_id (integer, not a foreign key: require_fk is false)"},
				"public.legacy_runs": {Class: Unclassified, Reason: "in scope but no ownership column and no foreign-key path to a scoped table",
					Notes: []string{"column created_by matches an ownership name but is not a foreign key to auth.users(id); " +
						"not used (if it really holds a user id here, set tables: {public.legacy_runs: {require_fk: false}} in the policy)"}},
				"public.imports": {Class: Global, Reason: "listed as global in the policy (policy.yaml:13:10)"},
				"public.batches": {Class: Global, Reason: "listed as global in the policy (policy.yaml:13:19)"},
			},
			problems: []string{"public.legacy_runs: class: direct (policy.yaml:12:22) but has no ownership column (user_id, created_by); " +
				"column created_by matches an ownership name but is not a foreign key to auth.users(id); " +
				"not used (if it really holds a user id here, set tables: {public.legacy_runs: {require_fk: false}} in the policy); use via, or another class"},
		},
		{
			name: "a bigint ownership FK to a bigint users table",
			schema: `
create table accounts (id bigint generated always as identity primary key, email text, raw_app_meta_data jsonb);
create table invoices (id bigint primary key, account_id bigint not null references accounts);`,
			policy: "users:\n  table: accounts\nownership:\n  - column: account_id\nscope: [invoices]\n",
			want: map[string]tableWant{
				"public.accounts": {Class: TenantRoot, Reason: "the users table (policy users.table)"},
				"public.invoices": {Class: Direct, Reason: "ownership column account_id → public.accounts"},
			},
		},
		{
			name: "a users table without the JWT claim column is a configuration error",
			schema: `
create table people (id bigint primary key, email text);
create table invoices (id bigint primary key, person_id bigint not null references people);`,
			policy:   "users:\n  table: people\nownership:\n  - column: person_id\nscope: [invoices]\n",
			want:     map[string]tableWant{"public.people": {Class: TenantRoot, Reason: "the users table (policy users.table)"}, "public.invoices": {Class: Direct, Reason: "ownership column person_id → public.people"}},
			problems: []string{"policy.yaml:9:10: users.table: users table public.people has no column raw_app_meta_data, which the migration reads (users.key) or keeps the JWT org claim in (raw_app_meta_data, as Supabase's auth.users has it); name the right users table, add the column, or choose another request_context (jwt or session) that keeps no claim in the users table"},
		},
		{
			name: "a name-only ownership match is rejected by the FK requirement",
			schema: `
create table webhooks (id uuid primary key, owner_id text not null);
create table attachments (id uuid primary key, owner_id uuid not null, user_id uuid not null references auth.users);`,
			policy: "ownership:\n  - column: owner_id\n  - column: user_id\nscope: [attachments]\n",
			want: map[string]tableWant{
				"public.webhooks": {Class: Global, Reason: implicitGlb, Notes: []string{ownerNote}},
				"public.attachments": {Class: Direct, Reason: "ownership column user_id" + userFK,
					Notes: []string{strings.ReplaceAll(ownerNote, "public.webhooks", "public.attachments")}},
			},
			warnings: []string{"public.webhooks: treated as global, but " + ownerNote +
				"; list it under global or exclude, or scope it, to make the decision explicit"},
		},
		{
			name:   "a rejected name-only match in scope is a problem that says why",
			schema: `create table webhooks (id uuid primary key, owner_id text not null);`,
			policy: "ownership:\n  - column: owner_id\nscope: [webhooks]\n",
			want: map[string]tableWant{
				"public.webhooks": {Class: Unclassified, Reason: "in scope but no ownership column and no foreign-key path to a scoped table",
					Notes: []string{ownerNote}},
			},
			problems: []string{"public.webhooks: listed in scope (policy.yaml:10:9) but has no ownership column (owner_id) and no foreign-key path to a scoped table; " +
				ownerNote + "; add a via, or list it under global or exclude instead"},
		},
		{
			name: "an ownership column and a FK parent: direct wins",
			schema: `
create table campaigns (id uuid primary key, user_id uuid not null references auth.users);
create table calls (id uuid primary key, user_id uuid not null references auth.users, campaign_id uuid not null references campaigns);`,
			policy: "scope: [campaigns, calls]\n",
			want: map[string]tableWant{
				"public.campaigns": {Class: Direct, Reason: "ownership column user_id" + userFK},
				"public.calls":     {Class: Direct, Reason: "ownership column user_id" + userFK},
			},
			order: []string{"public.calls", "public.campaigns"},
		},
		{
			name: "class inherited or via overrides the row's own owner",
			schema: `
create table campaigns (id uuid primary key, user_id uuid not null references auth.users);
create table calls (id uuid primary key, user_id uuid not null references auth.users, campaign_id uuid not null references campaigns);
create table dials (id uuid primary key, user_id uuid not null references auth.users, campaign_id uuid not null references campaigns);`,
			policy: "scope: [campaigns]\ntables:\n  calls:\n    class: inherited\n  dials:\n    via: campaigns\n",
			want: map[string]tableWant{
				"public.campaigns": {Class: Direct, Reason: "ownership column user_id" + userFK},
				"public.calls": {Class: Inherited, Depth: 1, Reason: "foreign-key path public.calls(campaign_id) → public.campaigns(user_id)",
					Notes: []string{"has ownership column user_id, but the policy makes it inherit its org from a parent"}},
				"public.dials": {Class: Inherited, Depth: 1, Reason: "foreign-key path public.dials(campaign_id) → public.campaigns(user_id)",
					Notes: []string{"has ownership column user_id, but the policy makes it inherit its org from a parent"}},
			},
		},
		{
			name: "class direct without an owner, and bad vias, are problems",
			schema: `
create table campaigns (id uuid primary key, user_id uuid not null references auth.users);
create table templates (id uuid primary key, name text);
create table scripts (id uuid primary key, campaign_id uuid references campaigns);
create table steps (id uuid primary key, template_id uuid references templates);
create table lines (id uuid primary key, script_id uuid references scripts);
create table memos (id uuid primary key, user_id uuid references auth.users, template_id uuid references templates);`,
			policy: "scope: [campaigns]\ntables:\n  scripts:\n    class: direct\n  steps:\n    via: templates\n  lines:\n    via: campaigns\n  memos:\n    class: inherited\n",
			want: map[string]tableWant{
				"public.campaigns": {Class: Direct, Reason: "ownership column user_id" + userFK},
				"public.templates": {Class: Global, Reason: implicitGlb},
				"public.scripts":   {Class: Unclassified, Reason: "in scope but no ownership column and no foreign-key path to a scoped table"},
				"public.steps":     {Class: Unclassified, Reason: "in scope but no ownership column and no foreign-key path to a scoped table"},
				"public.lines":     {Class: Unclassified, Reason: "in scope but no ownership column and no foreign-key path to a scoped table"},
				"public.memos": {Class: Unclassified, Reason: "in scope but no ownership column and no foreign-key path to a scoped table",
					Notes: []string{"has ownership column user_id, but the policy makes it inherit its org from a parent"}},
			},
			problems: []string{
				"public.lines: via public.campaigns (policy.yaml:15:10): public.lines has no foreign key to public.campaigns; name one of its foreign-key parents (public.scripts)",
				"public.memos: class: inherited (policy.yaml:16:3) but no foreign-key path reaches a scoped table with an ownership column " +
					"(its foreign-key parents: auth.users, public.templates); scope a parent, or use another class",
				"public.scripts: class: direct (policy.yaml:10:3) but has no ownership column (user_id); use via, or another class",
				"public.steps: via public.templates (policy.yaml:13:10): public.templates is not in scope, so its rows have no org to pass on; scope it or choose another parent",
			},
		},
		{
			name:   "a scoped table with no owner and no path",
			schema: `create table app_settings (id int primary key, theme text);`,
			policy: "scope: [app_settings]\n",
			want: map[string]tableWant{
				"public.app_settings": {Class: Unclassified, Reason: "in scope but no ownership column and no foreign-key path to a scoped table"},
			},
			problems: []string{"public.app_settings: listed in scope (policy.yaml:8:9) but has no ownership column (user_id) and no foreign-key path to a scoped table; " +
				"add a via, or list it under global or exclude instead"},
		},
		{
			name:   "a table with user_id not in the policy is unclassified",
			schema: unclassifiedSchema,
			policy: "scope: [notes]\n",
			want:   unclassifiedWant,
			problems: []string{
				"public.note_tags: has a foreign-key path public.note_tags(note_id) → public.notes(user_id) but no decision in the policy" + noDecision,
				"public.reminders: has ownership column user_id but no decision in the policy" + noDecision,
			},
		},
		{
			name:   "unclassified: warn makes them warnings",
			schema: unclassifiedSchema,
			policy: "scope: [notes]\nunclassified: warn\n",
			want:   unclassifiedWant,
			warnings: []string{
				"public.note_tags: has a foreign-key path public.note_tags(note_id) → public.notes(user_id) but no decision in the policy" + noDecision,
				"public.reminders: has ownership column user_id but no decision in the policy" + noDecision,
			},
		},
		{
			name:   "policy references to missing tables carry the policy position",
			schema: `create table calls (id uuid primary key, user_id uuid not null references auth.users);`,
			policy: "scope: [calls, ghost]\nexclude: [phantom]\ncritical: [calls, spectre]\ntables:\n  calls:\n    via: nowhere\n",
			want: map[string]tableWant{
				"public.calls": {Class: Unclassified, Reason: "in scope but no ownership column and no foreign-key path to a scoped table",
					Notes: []string{"has ownership column user_id, but the policy makes it inherit its org from a parent"}, Critical: true},
			},
			problems: []string{
				"policy.yaml:10:19: critical[1]: critical table public.spectre does not exist in the database (schemas public)",
				"policy.yaml:13:10: tables[calls].via: via table public.nowhere does not exist in the database (schemas public)",
				"policy.yaml:8:16: scope[1]: table public.ghost does not exist in the database (schemas public)",
				"policy.yaml:9:11: exclude[0]: excluded table public.phantom does not exist in the database (schemas public)",
				"public.calls: via public.nowhere (policy.yaml:13:10) is not a table of the database",
			},
		},
		{
			name:   "a table both in scope and tenant root",
			schema: `create table calls (id uuid primary key, user_id uuid not null references auth.users);`,
			policy: "scope: [calls]\n",
			// Parse refuses this; the classifier must still not scope a
			// tenant root if a policy gets through some other way.
			edit: func(p *policy.Policy) {
				r := p.Tenant.Table
				r.Key, r.Pos = "scope[1]", policy.Pos{File: "policy.yaml", Line: 8, Column: 16}
				p.Scope = append(p.Scope, r)
			},
			want: map[string]tableWant{
				"public.calls": {Class: Direct, Reason: "ownership column user_id" + userFK},
			},
			problems: []string{"public.organizations: listed in scope (policy.yaml:8:16) but also classified tenant root by the policy (the tenant table (policy tenant.table)); keep one"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plan, _ := classifySQL(t, tt.schema, tt.policy, tt.edit)
			want := map[string]tableWant{"public.organizations": {Class: TenantRoot, Reason: rootReason}}
			for k, v := range tt.want {
				want[k] = v
			}
			if diff := cmp.Diff(want, summarize(plan), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("tables (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.problems, problemStrings(plan.Problems), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.warnings, problemStrings(plan.Warnings), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if tt.order != nil {
				if diff := cmp.Diff(tt.order, tableNames(plan.Scoped)); diff != "" {
					t.Errorf("backfill order (-want +got):\n%s", diff)
				}
			}
			checkPlanInvariants(t, plan)
		})
	}
}

const ownerNote = "column owner_id matches an ownership name but is not a foreign key to auth.users(id); " +
	"not used (if it really holds a user id here, set tables: {public.webhooks: {require_fk: false}} in the policy)"

const ambiguousSchema = `
create table campaigns (id uuid primary key, user_id uuid not null references auth.users);
create table leads (id uuid primary key, user_id uuid not null references auth.users);
create table campaign_leads (campaign_id uuid not null references campaigns, lead_id uuid not null references leads,
  primary key (campaign_id, lead_id));`

const unclassifiedSchema = `
create table notes (id uuid primary key, user_id uuid not null references auth.users);
create table reminders (id uuid primary key, user_id uuid references auth.users, note_id uuid references notes);
create table note_tags (note_id uuid not null references notes, tag text not null);
create table colors (id int primary key, name text);`

var unclassifiedWant = map[string]tableWant{
	"public.notes":     {Class: Direct, Reason: "ownership column user_id" + userFK},
	"public.reminders": {Class: Unclassified, Reason: "has ownership column user_id but no decision in the policy"},
	"public.note_tags": {Class: Unclassified, Depth: 1, Reason: "has a foreign-key path public.note_tags(note_id) → public.notes(user_id) but no decision in the policy"},
	"public.colors":    {Class: Global, Reason: implicitGlb},
}

// checkPlanInvariants checks what must hold for every plan: one class per
// table, the Scoped list holds exactly the direct and inherited tables with
// every parent before its children, and paths end at a direct table.
func checkPlanInvariants(t *testing.T, p *Plan) {
	t.Helper()
	pos := map[*TablePlan]int{}
	for i, tp := range p.Scoped {
		pos[tp] = i
	}
	for _, tp := range p.Tables {
		if tp.Class == "" {
			t.Errorf("%s has no class", tp.Name())
		}
		if _, ok := pos[tp]; ok != tp.Class.Scoped() {
			t.Errorf("%s (%s): in Scoped = %v", tp.Name(), tp.Class, ok)
		}
		switch tp.Class {
		case Direct:
			if (tp.Owner == nil) == (tp.TenantKey == nil) || tp.Parent != nil {
				t.Errorf("%s: direct with owner %v, tenant key %v, parent %v", tp.Name(), tp.Owner, tp.TenantKey, tp.Parent)
			}
		case Inherited:
			if tp.Owner != nil || tp.Parent == nil || tp.ParentFK == nil {
				t.Errorf("%s: inherited with owner %v, parent %v", tp.Name(), tp.Owner, tp.Parent)
				continue
			}
			path := tp.Path()
			if last := path[len(path)-1]; last.Class != Direct && last.Class != AlreadyScoped {
				t.Errorf("%s: path ends at %s (%s) after %d hops", tp.Name(), last.Name(), last.Class, len(path)-1)
			}
		}
		if !tp.Class.Scoped() {
			continue
		}
		if len(tp.Sources) == 0 {
			t.Errorf("%s: %s with no source", tp.Name(), tp.Class)
		}
		// Every parent a row may read is filled first, and is deeper.
		for _, s := range tp.Sources {
			if s.Kind != FromParent {
				continue
			}
			if s.Parent.Depth >= tp.Depth {
				t.Errorf("%s (depth %d) reads parent %s (depth %d)", tp.Name(), tp.Depth, s.Parent.Name(), s.Parent.Depth)
			}
			if p, ok := pos[s.Parent]; ok && p >= pos[tp] {
				t.Errorf("%s comes before its parent %s in Scoped", tp.Name(), s.Parent.Name())
			}
		}
	}
}

// TestPlanErrIsTyped: the plan's error holds each problem, reachable with
// errors.As, and a plan without problems has no error.
func TestPlanErrIsTyped(t *testing.T) {
	p := &Plan{Problems: []Problem{{Table: "public.a", Msg: "unclassified"}, {Msg: "x.yaml:3:5: no table b", Config: true}}}
	err := p.Err()
	var pe *ProblemsError
	if !errors.As(err, &pe) || len(pe.Problems) != 2 {
		t.Fatalf("Err() = %v, want a *ProblemsError with 2 problems", err)
	}
	var one Problem
	if !errors.As(err, &one) || one.Table != "public.a" {
		t.Errorf("errors.As(Problem) = %+v", one)
	}
	if got, want := err.Error(), "2 problem(s) in the classification:\n  public.a: unclassified\n  x.yaml:3:5: no table b"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := p.ConfigErr().Error(), "x.yaml:3:5: no table b"; got != want {
		t.Errorf("ConfigErr() = %q, want %q", got, want)
	}
	if err := (&Plan{}).Err(); err != nil {
		t.Errorf("a plan without problems: %v", err)
	}
}

// TestViewOverPartition: a view that reads a partition of a scoped table by
// name shows that table's rows, so it is planned like a view over the
// table itself (security_invoker); a view over reference data is not.
func TestViewOverPartition(t *testing.T) {
	plan, _ := classifySQL(t, `
create table events (id bigint not null, user_id uuid not null references auth.users, at date not null, primary key (id, at)) partition by range (at);
create table events_2024 partition of events for values from ('2024-01-01') to ('2025-01-01');
create table plans (id int primary key, name text);
create view events_2024_view as select id, at from events_2024;
create view plans_view as select * from plans;
`, "scope: [events]\nglobal: [plans]\n", nil)
	var got []string
	for _, v := range plan.Views {
		var reads []string
		for _, r := range v.Reads {
			reads = append(reads, r.Name())
		}
		got = append(got, v.Name()+" reads "+strings.Join(reads, ", "))
	}
	if want := []string{"public.events_2024_view reads public.events"}; !cmp.Equal(got, want) {
		t.Errorf("views over protected rows %q, want %q", got, want)
	}
}
