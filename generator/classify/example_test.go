package classify

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/warden-sql/warden/exampleapp/exampledb"
	"github.com/warden-sql/warden/internal/ident"
	"github.com/warden-sql/warden/internal/pgtest"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// exampleDB returns a fresh database holding the repository's example
// schema (policy.yaml's schema files), and the loaded policy.
func exampleDB(t testing.TB) (string, *policy.Policy) {
	t.Helper()
	pol, err := policy.Load("../../policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return exampledb.New(t, pol, nil), pol
}

// examplePlan classifies the example schema.
func examplePlan(t testing.TB) (*Plan, *introspect.Database) {
	t.Helper()
	url, pol := exampleDB(t)
	conn := pgtest.Connect(t, url)
	db, err := introspect.Inspect(context.Background(), conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	return Classify(db, pol), db
}

// TestExamplePlan checks that the example app's plan reproduces the migration report's
// discovery: 43 tables require org_id, the user tables stay excluded.
func TestExamplePlan(t *testing.T) {
	plan, _ := examplePlan(t)
	if err := plan.Err(); err != nil {
		t.Fatal(err)
	}
	if len(plan.Warnings) > 0 {
		t.Errorf("warnings: %v", problemStrings(plan.Warnings))
	}
	checkPlanInvariants(t, plan)
	byClass := map[Class][]string{}
	for _, tp := range plan.Tables {
		byClass[tp.Class] = append(byClass[tp.Class], tp.Name())
	}
	if n := len(plan.Scoped); n != 43 {
		t.Errorf("%d scoped tables, the example app has 43", n)
	}
	if d, i := len(byClass[Direct]), len(byClass[Inherited]); d != 30 || i != 13 {
		t.Errorf("%d direct and %d inherited, want 30 and 13", d, i)
	}
	want := map[Class][]string{
		Excluded:   {"public.customers", "public.user_credits", "public.user_subscriptions"},
		Global:     {"public.subscription_plans"},
		TenantRoot: {"public.organization_members", "public.organizations"},
	}
	for class, names := range want {
		if diff := cmp.Diff(names, byClass[class]); diff != "" {
			t.Errorf("%s tables (-want +got):\n%s", class, diff)
		}
	}
	for _, class := range []Class{AlreadyScoped, Unclassified} {
		if len(byClass[class]) > 0 {
			t.Errorf("%s tables: %v", class, byClass[class])
		}
	}

	get := func(name string) *TablePlan {
		for _, tp := range plan.Tables {
			if tp.Table.Schema == "public" && tp.Table.Name == name {
				return tp
			}
		}
		t.Fatalf("no table %s", name)
		return nil
	}
	if cl := get("campaign_leads"); cl.Class != Inherited || cl.Parent.Table.Name != "campaigns" || cl.Via == nil || !cl.Critical {
		t.Errorf("campaign_leads: %s via %v, critical %v; want inherited via campaigns (the policy's via), critical", cl.Class, cl.Parent, cl.Critical)
	}
	emb := get("embeddings")
	var hops []string
	for _, h := range emb.Path() {
		hops = append(hops, h.Table.Name)
	}
	if diff := cmp.Diff([]string{"embeddings", "knowledge_base_chunks", "knowledge_base_documents", "knowledge_base"}, hops); diff != "" || emb.Depth != 3 {
		t.Errorf("embeddings: depth %d, path (-want +got):\n%s", emb.Depth, diff)
	}
	for _, tp := range plan.Tables {
		if want := tp.Table.Name == "voicemail_audit_log"; tp.NullablePath != want {
			t.Errorf("%s: nullable path %v, want %v", tp.Name(), tp.NullablePath, want)
		}
	}
	if vm := get("voicemail_audit_log"); vm.Class != Inherited || !vm.Critical {
		t.Errorf("voicemail_audit_log: %s, critical %v", vm.Class, vm.Critical)
	}
	if cl := get("calls"); cl.Class != Direct || cl.Owner.Name != "user_id" || cl.OwnerFK == nil {
		t.Errorf("calls: %s, %s", cl.Class, cl.Reason)
	}
}

// planShape is everything about a plan that must not change when warden's
// own Phase 2 (the org_id columns) has already been applied.
func planShape(p *Plan) []string {
	var out []string
	for _, tp := range p.Tables {
		out = append(out, fmt.Sprintf("%s|%s|%s|%d|%v|%v", tp.Name(), tp.Class, tp.Reason, tp.Depth, tp.NullablePath, tp.Notes))
	}
	out = append(out, "order:")
	out = append(out, tableNames(p.Scoped)...)
	out = append(out, "problems:")
	out = append(out, problemStrings(p.Problems)...)
	return out
}

// TestExamplePlanFixedPoint classifies the example schema, applies the
// gist of Phase 2 (org_id referencing organizations on every scoped table)
// and classifies again: a database may already have Phase 2 applied,
// and regenerating against it must give the same plan.
func TestExamplePlanFixedPoint(t *testing.T) {
	url, pol := exampleDB(t)
	conn := pgtest.Connect(t, url)
	ctx := context.Background()
	db, err := introspect.Inspect(ctx, conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	before := Classify(db, pol)
	var alter strings.Builder
	for _, tp := range before.Scoped {
		fmt.Fprintf(&alter, "alter table %s add column org_id uuid references public.organizations;\n",
			ident.Qualified(tp.Table.Schema, tp.Table.Name))
	}
	pgtest.Exec(t, conn, alter.String())
	db2, err := introspect.Inspect(ctx, conn, pol.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range before.Scoped {
		if db2.Table(tp.Table.Schema, tp.Table.Name).Column("org_id") == nil {
			t.Fatalf("%s: org_id was not added", tp.Name())
		}
	}
	after := Classify(db2, pol)
	if diff := cmp.Diff(planShape(before), planShape(after)); diff != "" {
		t.Errorf("plan changed after adding org_id (-before +after):\n%s", diff)
	}
}
