package migrations

import (
	"context"
	"errors"
	"testing"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// TestWhenNullFillTrigger: where the policy gives rows with no source the
// default org (when_null), the fill trigger does too, so an old writer
// with no org of its own (a service role, a cron job) that writes an
// ownerless row in the middle of the migration leaves no NULL behind for
// the backfill check and phase 4 to trip on. Where the policy decided
// nothing, the trigger never guesses: the row keeps NULL.
func TestWhenNullFillTrigger(t *testing.T) {
	pol, err := policy.Parse("policy.yaml", []byte(twoTablePolicy))
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.NewDB(t)
	conn := pgtest.Connect(t, url)
	pgtest.Exec(t, conn, twoTableSchema)
	db, err := introspect.Inspect(context.Background(), conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := Steps(classify.Classify(db, pol), db)
	if err != nil {
		t.Fatal(err)
	}
	// Up to and including the fill triggers: the backfill has not run.
	for _, s := range steps {
		if s.Kind == KindBackfill {
			break
		}
		applyStep(t, conn, s, false)
	}
	ctx := context.Background()
	var org *string
	if err := conn.QueryRow(ctx, `INSERT INTO public.calls (id, user_id, status) VALUES (gen_random_uuid(), NULL, 'cron') RETURNING org_id::text`).Scan(&org); err != nil {
		t.Fatal(err)
	}
	if org == nil || *org != pol.Tenant.DefaultOrg {
		t.Errorf("an ownerless call written during the migration got org %v, want the default org %s (calls: when_null: default_org)", org, pol.Tenant.DefaultOrg)
	}
	// call_logs decided nothing: its parent's org is its only source, and
	// a parent not yet filled gives none.
	if _, err := conn.Exec(ctx, `INSERT INTO public.calls (id, user_id, status) VALUES ('c0000000-0000-0000-0000-0000000000c1', NULL, 'old') ;
		UPDATE public.calls SET org_id = NULL WHERE id = 'c0000000-0000-0000-0000-0000000000c1'`); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `INSERT INTO public.call_logs (call_id, event) VALUES ('c0000000-0000-0000-0000-0000000000c1', 'e') RETURNING org_id::text`).Scan(&org); err != nil {
		t.Fatal(err)
	}
	if org != nil {
		t.Errorf("a call log whose call has no org yet got org %s; with no when_null decision the trigger must not guess", *org)
	}
}

// TestExcludedTableSessionUser: with a session context that names the
// user's setting, an excluded table ends with row-level security that
// shows each request its own user's rows and nothing without a user; a
// global table stays readable and refuses writes. Down restores both.
func TestExcludedTableSessionUser(t *testing.T) {
	const schema = `
DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'web_app') THEN CREATE ROLE web_app NOLOGIN; END IF; END $$;
CREATE TABLE public.orgs (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.users (id bigint PRIMARY KEY);
CREATE TABLE public.notes (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES public.users);
CREATE TABLE public.preferences (user_id bigint PRIMARY KEY REFERENCES public.users, theme text NOT NULL);
CREATE TABLE public.plans (id int PRIMARY KEY, price int NOT NULL);
CREATE TABLE public.visits (user_id bigint NOT NULL REFERENCES public.users, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE public.visits_2025 PARTITION OF public.visits FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO web_app;
INSERT INTO public.users VALUES (1), (2);
INSERT INTO public.preferences VALUES (1, 'dark'), (2, 'light');
INSERT INTO public.plans VALUES (1, 10);
INSERT INTO public.visits VALUES (1, '2025-02-01'), (2, '2025-03-01');
`
	const pol = `version: 1
schemas: [public]
tenant: {table: orgs, type: bigint, default_org: 1000}
users: {table: public.users}
request_context: {kind: session, setting: app.org, user_setting: app.user, roles: [web_app]}
scope: [notes]
exclude: [preferences, visits]
global: [plans]
migrations: {format: psql, version: "20250110000000"}
`
	p, err := policy.Parse("policy.yaml", []byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	pgtest.Exec(t, conn, schema)
	ctx := context.Background()
	db, err := introspect.Inspect(ctx, conn, p.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := Steps(classify.Classify(db, p), db)
	if err != nil {
		t.Fatal(err)
	}
	seen := func(user string) (prefs, visits int64, writeErr error) {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		for _, sql := range []string{"SET LOCAL ROLE web_app", "SELECT set_config('app.user', '" + user + "', true)"} {
			if _, err := tx.Exec(ctx, sql); err != nil {
				t.Fatal(err)
			}
		}
		// The partition, named directly: past the parent's policies unless
		// it has its own.
		if err := tx.QueryRow(ctx, "SELECT (SELECT count(*) FROM public.preferences), (SELECT count(*) FROM public.visits_2025)").Scan(&prefs, &visits); err != nil {
			t.Fatal(err)
		}
		tag, err := tx.Exec(ctx, "UPDATE public.plans SET price = 0")
		if err == nil && tag.RowsAffected() > 0 {
			err = errUpdated
		}
		return prefs, visits, err
	}
	if n, v, err := seen("1"); n != 2 || v != 2 || err != errUpdated {
		t.Fatalf("before: user 1 sees %d preferences and %d visits and updating plans gives %v; the test needs all open", n, v, err)
	}
	for _, s := range steps {
		if s.Kind != KindBackfill {
			applyStep(t, conn, s, false)
		}
	}
	if n, v, err := seen("1"); n != 1 || v != 1 || err != nil {
		t.Errorf("after up: user 1 sees %d preferences and %d visits through the partition (want their 1 each) and updating plans gives %v (want no row changed)", n, v, err)
	}
	if n, v, _ := seen(""); n != 0 || v != 0 {
		t.Errorf("after up: a request with no user sees %d preferences and %d visits", n, v)
	}
	for i := len(steps) - 1; i >= 0; i-- {
		applyStep(t, conn, steps[i], true)
	}
	if n, v, err := seen("1"); n != 2 || v != 2 || err != errUpdated {
		t.Errorf("after down: user 1 sees %d preferences and %d visits and updating plans gives %v; want all as before", n, v, err)
	}
}

var errUpdated = errors.New("rows updated")
