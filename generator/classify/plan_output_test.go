package classify

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/warden-sql/warden/internal/golden"
	"github.com/warden-sql/warden/introspect"
)

// renderPlan renders both outputs of `warden plan`.
func renderPlan(t *testing.T, p *Plan, stats *introspect.Stats) (text, js []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := WritePlanText(&b, p, stats); err != nil {
		t.Fatal(err)
	}
	js, err := PlanJSON(p, stats)
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), js
}

// exampleStats are fixed estimates (real ones change with every ANALYZE):
// a large table, a small one, one never analysed, and the rest unknown.
var exampleStats = &introspect.Stats{Tables: map[string]introspect.TableStats{
	"public.calls":               {RowEstimate: 12345678},
	"public.call_logs":           {RowEstimate: 98765432},
	"public.organizations":       {RowEstimate: 1},
	"public.voicemail_audit_log": {RowEstimate: -1},
	"public.embeddings":          {RowEstimate: 0},
}}

func TestPlanOutputExample(t *testing.T) {
	plan, _ := examplePlan(t)
	text, js := renderPlan(t, plan, exampleStats)
	golden.File(t, filepath.Join("testdata", "plan/example.txt"), text)
	golden.File(t, filepath.Join("testdata", "plan/example.json"), js)

	// Same schema, classified again from a fresh database: same bytes.
	again, _ := examplePlan(t)
	text2, js2 := renderPlan(t, again, exampleStats)
	if !bytes.Equal(text, text2) || !bytes.Equal(js, js2) {
		t.Error("plan output differs between two runs on the same schema")
	}

	// The example's discovery, in a migration report's words.
	want := "43 tables require org_id (30 direct, 13 inherited); excluded: user_credits, user_subscriptions, customers; " +
		"global: subscription_plans; tenant root: organizations, organization_members"
	if got := Summarize(plan).Sentence(plan); got != want {
		t.Errorf("summary:\n got %s\nwant %s", got, want)
	}

	var doc PlanDoc
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	for _, td := range doc.Tables {
		if td.Table == "public.embeddings" {
			if len(td.Path) != 3 || td.Depth != 3 || td.Owner == nil || td.Owner.Table != "public.knowledge_base" ||
				td.RowEstimate == nil || *td.RowEstimate != 0 {
				t.Errorf("embeddings in JSON: %+v", td)
			}
		}
		if td.Table == "public.voicemail_audit_log" && (td.RowEstimate != nil || !td.NullablePath || !td.Path[0].Nullable) {
			t.Errorf("voicemail_audit_log in JSON: %+v", td)
		}
	}
}

// TestPlanOutputProblems renders a plan with every kind of remark: an
// ambiguity, an unclassified table, a warning, a nullable path, a rejected
// ownership column and a missing policy reference; without stats.
func TestPlanOutputProblems(t *testing.T) {
	schema := ambiguousSchema + `
create table webhooks (id uuid primary key, owner_id text not null);
create table reminders (id uuid primary key, user_id uuid references auth.users);
create table lead_notes (id uuid primary key, lead_id uuid references leads);
create table app_settings (id int primary key, org_id uuid references organizations);`
	pol := "ownership:\n  - column: user_id\n  - column: owner_id\nscope: [campaigns, leads, campaign_leads, lead_notes, ghost]\ncritical: [leads]\n"
	plan, _ := classifySQL(t, schema, pol, nil)
	text, js := renderPlan(t, plan, nil)
	golden.File(t, filepath.Join("testdata", "plan/problems.txt"), text)
	golden.File(t, filepath.Join("testdata", "plan/problems.json"), js)
	if plan.Err() == nil {
		t.Error("no problems")
	}
}

func TestGroupDigits(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 12: "12", 999: "999", 1000: "1,000", 123456: "123,456", 1234567: "1,234,567"} {
		if got := groupDigits(n); got != want {
			t.Errorf("groupDigits(%d) = %q, want %q", n, got, want)
		}
	}
}
