package status

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/operate/status/statustest"
	"github.com/warden-sql/warden/policy"
)

// causesSchema has a row for every reason a source can give no org:
// notes take the org of their author (an FK to users), then of their
// text created_by (no FK); tasks take their note's org. Ada is in org 7,
// Bob in none.
const causesSchema = `
CREATE TABLE public.orgs (id bigint PRIMARY KEY, name text);
CREATE TABLE public.users (id bigint PRIMARY KEY);
CREATE TABLE public.members (user_id bigint NOT NULL REFERENCES public.users, org_id bigint NOT NULL REFERENCES public.orgs,
  joined_at timestamptz NOT NULL DEFAULT now());
INSERT INTO public.orgs VALUES (7, 'acme');
INSERT INTO public.users VALUES (1), (2);
INSERT INTO public.members (user_id, org_id) VALUES (1, 7);
CREATE TABLE public.notes (id bigint PRIMARY KEY, author_id bigint REFERENCES public.users, created_by text);
INSERT INTO public.notes VALUES
  (1, 1, NULL),        -- Ada's: org 7
  (2, NULL, NULL),     -- no owner in either column
  (3, 2, NULL),        -- Bob's, and Bob is in no org
  (4, NULL, 'x-42'),   -- created_by names no user
  (5, NULL, '1');      -- created_by is Ada: org 7
CREATE TABLE public.tasks (id bigint PRIMARY KEY, note_id bigint REFERENCES public.notes);
INSERT INTO public.tasks VALUES (1, 1), (2, NULL), (3, 2), (4, 3);
`

const causesPolicy = `version: 1
schemas: [public]
tenant: {table: orgs, type: bigint, default_org: 1000000}
request_context: {kind: session, setting: app.org}
users: {table: users}
ownership: [{column: author_id}, {column: created_by, require_fk: false}]
membership: {table: members, user_column: user_id, org_column: org_id, order_column: joined_at}
scope: [notes, tasks]
tables:
  notes: {org_from: [author_id, created_by], when_null: default_org}
  tasks: {when_null: default_org}
migrations: {format: psql, version: "20250110000000"}
`

// TestDefaultOrgCauses: after the backfill, status counts each table's rows
// in the default org by why each source gave none, and the counts are
// those of the rows written above. Before the tenant column exists it
// counts nothing; a table whose parent lacks the column is not counted.
func TestDefaultOrgCauses(t *testing.T) {
	pol, err := policy.Parse("policy.yaml", []byte(causesPolicy))
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.NewDB(t)
	conn := pgtest.Connect(t, url)
	pgtest.Exec(t, conn, causesSchema)
	ctx := context.Background()
	db, err := introspect.Inspect(ctx, conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	plan := classify.Classify(db, pol)
	if err := plan.Err(); err != nil {
		t.Fatal(err)
	}
	steps, err := migrations.Steps(plan, db)
	if err != nil {
		t.Fatal(err)
	}
	e := &statustest.Example{URL: url, Conn: conn, Policy: pol, DB: db, Plan: plan, Steps: steps}
	if r := measure(t, e, Options{}); r.Tables[0].DefaultOrg != nil {
		t.Errorf("before the column exists: %+v, want nothing counted", r.Tables[0].DefaultOrg)
	}
	e.Apply(t, statustest.Through(migrations.PhaseBackfill))

	r := measure(t, e, Options{})
	got := map[string]*DefaultOrgRows{}
	for _, ts := range r.Tables {
		got[ts.Table] = ts.DefaultOrg
	}
	want := map[string]*DefaultOrgRows{
		// Notes 2, 3 and 4 fail both owners: 2 has neither; 3's author is
		// in no org and names no created_by; 4's created_by is no user.
		"public.notes": {Rows: 3, Causes: []CauseCount{
			{Source: "author_id", Why: "no owner", Rows: 2},
			{Source: "author_id", Why: "owner without membership", Rows: 1},
			{Source: "created_by", Why: "no owner", Rows: 2},
			{Source: "created_by", Why: "unknown owner", Rows: 1},
		}},
		// Task 2 has no note; tasks 3 and 4 are on notes in the default org.
		"public.tasks": {Rows: 3, Causes: []CauseCount{
			{Source: "public.notes", Why: "no parent", Rows: 1},
			{Source: "public.notes", Why: "parent in the default org", Rows: 2},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows in the default org by cause (-want +got):\n%s", diff)
	}

	// Negative: Bob joins org 7 and his note is given it by hand: the
	// counts follow, so they are read from the rows, not from the plan.
	pgtest.Exec(t, conn, `INSERT INTO public.members (user_id, org_id) VALUES (2, 7);
		UPDATE public.notes SET org_id = 7 WHERE id = 3; UPDATE public.tasks SET org_id = 7 WHERE id = 4`)
	r = measure(t, e, Options{})
	if d := r.Tables[0].DefaultOrg; d == nil || d.Rows != 2 || len(d.Causes) != 3 {
		t.Errorf("after Bob's note moved to his new org: %+v, want 2 rows (no owner ×2, unknown owner)", d)
	}
	if d := r.Tables[0].DefaultOrg; d != nil {
		for _, c := range d.Causes {
			if c.Why == "owner without membership" {
				t.Errorf("Bob is a member now, yet counted: %+v", c)
			}
		}
	}
}
