package migrations

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/introspect"
	"github.com/warden-sql/warden/policy"
)

// distributedBy returns plan with the policy's distribute: citus set and
// excluded tables placed as excluded says.
func distributedBy(plan *classify.Plan, excluded string) *classify.Plan {
	pol := *plan.Policy
	pol.Distribute = &policy.Distribute{Target: policy.DistributeCitus, Excluded: excluded}
	p := *plan
	p.Policy = &pol
	return &p
}

// TestDistributeExcludedByUser: with excluded: user the excluded tables
// are sharded by their user column in a colocation group of their own
// (the first with colocate_with 'none', the rest with it), their unique
// keys rebuilt to lead with it, with none of the org-owned tables' column
// default or trigger drops; the report's summary lists them. The other
// placements leave them out of the distribution.
func TestDistributeExcludedByUser(t *testing.T) {
	e := loadExample(t, 0)
	db := &introspect.Database{Schemas: e.plan.Policy.Schemas}
	for _, tp := range e.plan.Tables {
		db.Tables = append(db.Tables, tp.Table)
	}
	plan := distributedBy(e.plan, policy.ExcludedUser)
	steps, err := Steps(plan, db)
	if err != nil {
		t.Fatal(err)
	}
	sharded := map[string]string{}
	for _, s := range steps {
		if s.Kind != KindDistTable {
			continue
		}
		for _, name := range []string{"customers", "user_credits", "user_subscriptions"} {
			if s.Table == "public."+name {
				sharded[name] = s.Up
			}
		}
	}
	for name, want := range map[string]string{
		"customers":          `create_distributed_table_concurrently('"public"."customers"', 'user_id', colocate_with => 'none')`,
		"user_credits":       `create_distributed_table_concurrently('"public"."user_credits"', 'user_id', colocate_with => 'public.customers')`,
		"user_subscriptions": `create_distributed_table_concurrently('"public"."user_subscriptions"', 'user_id', colocate_with => 'public.customers')`,
	} {
		if !strings.Contains(sharded[name], want) {
			t.Errorf("public.%s: the dist_table step lacks %s:\n%s", name, want, sharded[name])
		}
	}
	var keys, prepared int
	for _, s := range steps {
		if s.Table != "public.customers" {
			continue
		}
		switch s.Kind {
		case KindDistKeyIndex:
			keys++
			if !strings.Contains(s.Up, `("user_id", `) {
				t.Errorf("%s does not lead the key with user_id:\n%s", s.Name, s.Up)
			}
		case KindDistPrepare:
			prepared++
			for _, unwanted := range []string{"SET DEFAULT", "DROP TRIGGER"} {
				if strings.Contains(s.Up, unwanted) {
					t.Errorf("%s of a table sharded by user has %s:\n%s", s.Name, unwanted, s.Up)
				}
			}
		}
	}
	if keys != 2 || prepared != 1 {
		t.Errorf("public.customers: %d key builds and %d prepare steps, want 2 (its primary key and stripe_customer_id) and 1", keys, prepared)
	}
	d, err := Distributes(plan)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"public.customers (user_id)", "public.user_credits (user_id)", "public.user_subscriptions (user_id)"}, d.ByUser); diff != "" {
		t.Errorf("Distributes().ByUser (-want +got):\n%s", diff)
	}
	if len(d.Local) != 0 || len(d.Distributed) != len(e.plan.Scoped)+len(e.plan.Finished) {
		t.Errorf("Distributes(): %d local, %d distributed by org; want 0 and %d", len(d.Local), len(d.Distributed), len(e.plan.Scoped)+len(e.plan.Finished))
	}
	for _, placement := range []string{policy.ExcludedLocal, policy.ExcludedReference} {
		d, err := Distributes(distributedBy(e.plan, placement))
		if err != nil {
			t.Fatal(err)
		}
		if len(d.ByUser) != 0 {
			t.Errorf("excluded: %s shards %v by user", placement, d.ByUser)
		}
	}
}

// TestDistributeExcludedByUserRefusals: a table to shard by user that has
// no user column, or one that allows NULL, is refused at generation,
// naming it and the way out.
func TestDistributeExcludedByUserRefusals(t *testing.T) {
	e := loadExample(t, 0)
	for _, tc := range []struct {
		name  string
		spoil func(tp *classify.TablePlan)
		want  string
	}{
		{"nullable", func(tp *classify.TablePlan) {
			owner := *tp.Owner
			owner.NotNull = false
			tp.Owner = &owner
		}, "distribute: excluded: user: public.customers.user_id allows NULL, and Citus cannot place a row without its shard column; make it NOT NULL, or place excluded tables local or reference"},
		{"no owner", func(tp *classify.TablePlan) { tp.Owner = nil },
			"distribute: excluded: user: public.customers has no user column to shard it by; give it an owner column, or place excluded tables local or reference"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := distributedBy(e.plan, policy.ExcludedUser)
			plan.Tables = append([]*classify.TablePlan(nil), plan.Tables...)
			db := &introspect.Database{Schemas: plan.Policy.Schemas}
			for i, tp := range plan.Tables {
				if tp.Table.Name == "customers" {
					c := *tp
					tc.spoil(&c)
					plan.Tables[i] = &c
				}
				db.Tables = append(db.Tables, tp.Table)
			}
			_, err := Steps(plan, db)
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v, want %s", err, tc.want)
			}
		})
	}
}

// TestHasSubquery mirrors citus_fold_policies: a scalar subquery of a bare
// call is unwrapped, any other SELECT is a subquery Citus refuses.
func TestHasSubquery(t *testing.T) {
	for expr, want := range map[string]bool{
		"(user_id = auth.uid())":                                             false,
		"(user_id = ( SELECT auth.uid() AS uid))":                            false,
		`(org_id = ( SELECT "public".auth_org_id() AS x))`:                   false,
		"(EXISTS ( SELECT 1 FROM members m WHERE (m.user_id = auth.uid())))": true,
		"(org_id IN ( SELECT m.org_id FROM members m))":                      true,
		"(selected AND (note <> 'SELECTION'::text))":                         false,
		"": false,
	} {
		if got := hasSubquery(expr); got != want {
			t.Errorf("hasSubquery(%q) = %v, want %v", expr, got, want)
		}
	}
}

// TestDistributePolicySubquery: a policy with a subquery on a table that
// joins Citus is refused at generation, naming the table and policy; the
// same policy without distribute is fine.
func TestDistributePolicySubquery(t *testing.T) {
	e := loadExample(t, 0)
	plan := distributedBy(e.plan, policy.ExcludedLocal)
	plan.Tables = append([]*classify.TablePlan(nil), plan.Tables...)
	db := &introspect.Database{Schemas: plan.Policy.Schemas}
	for i, tp := range plan.Tables {
		if tp.Table.Name == "leads" {
			tb := *tp.Table
			tb.Policies = append(append([]*introspect.Policy(nil), tb.Policies...), &introspect.Policy{Name: "members read", Permissive: true, Command: "select",
				Using: "(EXISTS ( SELECT 1 FROM organization_members m WHERE (m.user_id = auth.uid())))"})
			c := *tp
			c.Table = &tb
			plan.Tables[i] = &c
		}
		db.Tables = append(db.Tables, plan.Tables[i].Table)
	}
	want := `distribute: public.leads: policy "members read" has a subquery ((EXISTS ( SELECT 1 FROM organization_members m WHERE (m.user_id = auth.uid())))), which Citus refuses in the policies of its tables; rewrite it with a function call instead (a scalar (SELECT f()) is fine), or leave distribute out`
	if _, err := Steps(plan, db); err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	plan.Policy = e.plan.Policy
	if _, err := Steps(plan, db); err != nil {
		t.Errorf("without distribute: %v", err)
	}
}
