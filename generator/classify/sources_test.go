package classify

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// sourcesOf lists each scoped table's org sources, in order, as plans show
// them.
func sourcesOf(p *Plan) map[string][]string {
	out := map[string][]string{}
	for _, tp := range p.Tables {
		if !tp.Class.Scoped() {
			continue
		}
		for _, s := range tp.Sources {
			out[tp.Name()] = append(out[tp.Name()], s.String())
		}
	}
	return out
}

// TestOrgSources checks where each table's rows take their org from, on
// the org-structured shapes real apps have: the row's real org (a column
// holding the tenant key, a parent whose org is real) beats a guess from a
// user, a NULL source falls back to the next, and a table whose every
// source can be NULL is a decision.
func TestOrgSources(t *testing.T) {
	const teams = `
create table teams (id uuid primary key, org_id uuid not null references organizations);
`
	tests := []struct {
		name, schema, policy string
		want                 map[string][]string
		classes              map[string]Class
		problems             []string // substrings, one per problem
		rejected             map[string][]string
	}{
		{
			name: "a team's document takes the team's org, not its author's",
			schema: teams + `
create table documents (id uuid primary key, team_id uuid not null references teams, author_id uuid not null references auth.users);`,
			policy:  "ownership: [{column: author_id}]\nscope: [documents]\n",
			classes: map[string]Class{"public.teams": AlreadyScoped, "public.documents": Inherited},
			want:    map[string][]string{"public.documents": {"parent public.teams via team_id (its org)"}},
			rejected: map[string][]string{"public.documents": {
				"owner author_id → auth.users (the owner's org): ranks after parent public.teams via team_id (its org), which every row has"}},
		},
		{
			name: "a column referencing the tenant table is the row's org, under any name",
			schema: `
create table invitations (id uuid primary key, account_id uuid not null references organizations, invited_by uuid not null references auth.users);`,
			policy:  "ownership: [{column: invited_by}]\nscope: [invitations]\n",
			classes: map[string]Class{"public.invitations": Direct},
			want:    map[string][]string{"public.invitations": {"column account_id → public.organizations (the tenant key)"}},
		},
		{
			name: "a NULL owner falls back to its NOT NULL parent; a nullable owner never beats a NOT NULL parent",
			schema: teams + `
create table surveys (id uuid primary key, team_id uuid not null references teams, created_by uuid references auth.users);
create table projects (id uuid primary key, user_id uuid references auth.users);
create table tasks (id uuid primary key, project_id uuid not null references projects, user_id uuid references auth.users);`,
			policy: "ownership: [{column: created_by}, {column: user_id}]\nscope: [surveys, projects, tasks]\ntables:\n  projects: {when_null: default_org}\n",
			want: map[string][]string{
				"public.surveys":  {"parent public.teams via team_id (its org)"},
				"public.projects": {"owner user_id → auth.users (the owner's org, nullable)"},
				// The project's org is a guess too, and some are the
				// default org: the task's own user comes first, then the
				// project, which every task has.
				"public.tasks": {"owner user_id → auth.users (the owner's org, nullable)", "parent public.projects via project_id (its org)"},
			},
		},
		{
			name: "per-row fallback: a nullable owner, then the parent",
			schema: `
create table projects (id uuid primary key, user_id uuid not null references auth.users);
create table notes (id uuid primary key, user_id uuid references auth.users, project_id uuid references projects);`,
			policy: "scope: [projects, notes]\ntables:\n  notes: {when_null: default_org}\n",
			want: map[string][]string{
				"public.projects": {"owner user_id → auth.users (the owner's org)"},
				"public.notes": {"owner user_id → auth.users (the owner's org, nullable)",
					"parent public.projects via project_id (its org, nullable)"},
			},
		},
		{
			name: "the nullable-path trap: a nullable member FK never hides the NOT NULL org FK",
			schema: `
create table members (id uuid primary key, user_id uuid not null references auth.users);
create table environments (id uuid primary key, org_id_ref uuid not null references organizations, member_id uuid references members);
create table deployments (id uuid primary key, environment_id uuid not null references environments);`,
			policy:  "scope: [members, environments, deployments]\n",
			classes: map[string]Class{"public.environments": Direct, "public.deployments": Inherited},
			want: map[string][]string{
				"public.members":      {"owner user_id → auth.users (the owner's org)"},
				"public.environments": {"column org_id_ref → public.organizations (the tenant key)"},
				"public.deployments":  {"parent public.environments via environment_id (its org)"},
			},
		},
		{
			name: "a table whose only source runs through a nullable FK is a problem until the policy decides",
			schema: `
create table members (id uuid primary key, user_id uuid not null references auth.users);
create table environments (id uuid primary key, member_id uuid references members);`,
			policy:   "scope: [members, environments]\n",
			want:     map[string][]string{"public.members": {"owner user_id → auth.users (the owner's org)"}, "public.environments": {"parent public.members via member_id (its org, nullable)"}},
			problems: []string{"public.environments: its org comes only from nullable sources (parent public.members via member_id (its org, nullable))"},
		},
		{
			name: "owned by a user or an org: the org column where set, the user's org otherwise",
			schema: `
create table namespaces (id uuid primary key, namespace_org_id uuid references organizations, namespace_user_id uuid references auth.users,
  check ((namespace_org_id is null) <> (namespace_user_id is null)));`,
			policy: "ownership: [{column: namespace_user_id}]\nscope: [namespaces]\ntables:\n  namespaces: {when_null: default_org}\n",
			want: map[string][]string{"public.namespaces": {
				"column namespace_org_id → public.organizations (the tenant key, nullable)",
				"owner namespace_user_id → auth.users (the owner's org, nullable)"}},
		},
		{
			name: "org_from pins the sources, in the policy's order",
			schema: teams + `
create table documents (id uuid primary key, team_id uuid references teams, author_id text);`,
			policy: "ownership: [{column: author_id}]\nscope: [documents]\ntables:\n  documents: {org_from: [author_id, teams], when_null: default_org}\n",
			want: map[string][]string{"public.documents": {
				"owner author_id text, no foreign key (the owner's org, nullable)",
				"parent public.teams via team_id (its org, nullable)"}},
		},
		{
			name: "org_from naming nothing of the table is a configuration error at its line",
			schema: `
create table documents (id uuid primary key, user_id uuid not null references auth.users);`,
			policy:   "scope: [documents]\ntables:\n  documents: {org_from: team}\n",
			problems: []string{"policy.yaml:10:25: tables[documents].org_from: org_from: team is neither a column of public.documents nor one of its foreign-key parents"},
		},
		{
			name: "org_from naming the tenant column or another table's key is a configuration error",
			schema: teams + `
create table documents (id uuid primary key, team_id uuid not null references teams, author_id uuid references auth.users, org_id uuid);`,
			policy: "scope: [documents]\ntables:\n  documents: {org_from: [org_id, team_id]}\n",
			problems: []string{
				"org_from names org_id, the tenant column itself",
				"org_from names team_id, which references public.teams, neither the tenant nor the users table; to take that row's org, name the parent public.teams",
			},
		},
		{
			name: "a pinned first source that cannot be used gives way to the next",
			schema: `
create table plans (id uuid primary key);
create table notes (id uuid primary key, plan_id uuid references plans, user_id uuid not null references auth.users);`,
			policy: "global: [plans]\nscope: [notes]\ntables:\n  notes: {org_from: [plans, user_id]}\n",
			want:   map[string][]string{"public.notes": {"owner user_id → auth.users (the owner's org)"}},
		},
		{
			name: "an already tenanted table whose column is no tenant key is refused, not finished",
			schema: `
create table legacy_orgs (id uuid primary key);
create table a (id uuid primary key, org_id uuid not null references legacy_orgs);
create table b (id uuid primary key, org_id bigint);
create table c (id uuid primary key, org_id uuid references organizations);
create index on c (org_id);`,
			problems: []string{
				"public.a: already has org_id, but it references public.legacy_orgs(id), not the tenant table public.organizations(id)",
				"public.b: already has org_id, but of type bigint where the tenant key is uuid (tenant.type)",
			},
			classes: map[string]Class{"public.c": AlreadyScoped},
		},
		{
			name: "fallbacks never form a cycle",
			schema: `
create table a (id uuid primary key, user_id uuid references auth.users, b_id uuid);
create table b (id uuid primary key, user_id uuid references auth.users, a_id uuid references a);
alter table a add foreign key (b_id) references b;`,
			policy: "scope: [a, b]\ntables:\n  a: {when_null: default_org}\n  b: {when_null: default_org}\n",
			want: map[string][]string{
				"public.a": {"owner user_id → auth.users (the owner's org, nullable)"},
				"public.b": {"owner user_id → auth.users (the owner's org, nullable)", "parent public.a via a_id (its org, nullable)"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plan, _ := classifySQL(t, tt.schema, tt.policy, nil)
			got := problemStrings(plan.Problems)
			if len(got) != len(tt.problems) {
				t.Errorf("problems: got %q, want %d matching %q", got, len(tt.problems), tt.problems)
			} else {
				for i, want := range tt.problems {
					if !strings.Contains(got[i], want) {
						t.Errorf("problem %d: %q, want it to contain %q", i, got[i], want)
					}
				}
			}
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, sourcesOf(plan), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("sources (-want +got):\n%s", diff)
				}
			}
			for name, class := range tt.classes {
				for _, tp := range plan.Tables {
					if tp.Name() == name && tp.Class != class {
						t.Errorf("%s: class %s, want %s (%s)", name, tp.Class, class, tp.Reason)
					}
				}
			}
			for name, want := range tt.rejected {
				for _, tp := range plan.Tables {
					if tp.Name() == name {
						if diff := cmp.Diff(want, tp.Rejected); diff != "" {
							t.Errorf("%s: rejected (-want +got):\n%s", name, diff)
						}
					}
				}
			}
			checkPlanInvariants(t, plan)
		})
	}
}
