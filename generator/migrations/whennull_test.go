package migrations

import (
	"context"
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
