package bench

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/warden-sql/warden/generator/classify"
)

// The naive migration's phases, in the order they run.
const (
	NaiveAddColumn  = "add column"
	NaiveTrigger    = "fill trigger"
	NaiveUpdate     = "update"
	NaiveSetNotNull = "set not null"
	NaiveIndex      = "create index"
	NaiveFK         = "add fk"
)

// NaiveStep is one statement of the naive migration.
type NaiveStep struct {
	Phase string
	Table string
	SQL   string
}

// NaiveSteps is the migration an engineer writes by hand without warden,
// for the same plan: ADD COLUMN; one UPDATE per table over the whole
// table (parents first); plain SET NOT NULL (a full scan under ACCESS
// EXCLUSIVE); plain CREATE INDEX (writes blocked for the build); the FK
// added validated (a scan under SHARE ROW EXCLUSIVE). No lock_timeout.
//
// It gets the same fill triggers as warden (rows the app writes during the
// migration get their org from the owner or parent row), because without
// them its SET NOT NULL fails on those rows and the comparison would be
// about a broken migration rather than about locks. Orgs are derived
// exactly as warden derives them (same membership rule, orphans to the
// default org), so both migrations end in the same rows
// (TestNaiveMatchesWarden).
func NaiveSteps(plan *classify.Plan) []NaiveStep {
	pol := plan.Policy
	tn := pol.Tenant
	col := pgx.Identifier{tn.Column}.Sanitize()
	tenant := pgx.Identifier{tn.Table.Schema, tn.Table.Name}.Sanitize()
	def := "'" + tn.DefaultOrg + "'::uuid"

	var steps []NaiveStep
	add := func(phase, table, sql string) { steps = append(steps, NaiveStep{Phase: phase, Table: table, SQL: sql}) }

	setup := fmt.Sprintf(`CREATE SCHEMA IF NOT EXISTS naive;
INSERT INTO %s (%s, "name") VALUES (%s, %s) ON CONFLICT DO NOTHING;
`, tenant, pgx.Identifier{tn.Key}.Sanitize(), def, quoteLiteral(tn.DefaultOrgName))
	if m := pol.Membership; m != nil {
		order := ""
		if m.PrimaryColumn != "" {
			order = fmt.Sprintf("m.%s DESC NULLS LAST, ", pgx.Identifier{m.PrimaryColumn}.Sanitize())
		}
		if m.OrderColumn != "" {
			order += "m." + pgx.Identifier{m.OrderColumn}.Sanitize() + ", "
		}
		order += "m." + pgx.Identifier{m.OrgColumn}.Sanitize()
		setup += fmt.Sprintf(`CREATE OR REPLACE FUNCTION naive.user_org(p_user uuid) RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT m.%s FROM %s m WHERE m.%s = p_user ORDER BY %s LIMIT 1 $$;`,
			pgx.Identifier{m.OrgColumn}.Sanitize(), pgx.Identifier{m.Table.Schema, m.Table.Name}.Sanitize(),
			pgx.Identifier{m.UserColumn}.Sanitize(), order)
	} else {
		setup += fmt.Sprintf(`CREATE OR REPLACE FUNCTION naive.user_org(p_user uuid) RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT %s FROM %s u WHERE u.%s = p_user $$;`, def,
			pgx.Identifier{pol.Users.Table.Schema, pol.Users.Table.Name}.Sanitize(), pgx.Identifier{pol.Users.Key}.Sanitize())
	}
	add(NaiveAddColumn, "", setup)

	// derive is the row's org from its sources in turn, as a person would
	// write it by hand: the first that gives one.
	derive := func(tp *classify.TablePlan, alias string) string {
		var terms []string
		for _, src := range tp.Sources {
			switch src.Kind {
			case classify.FromTenantKey:
				terms = append(terms, alias+"."+pgx.Identifier{src.Column.Name}.Sanitize())
			case classify.FromOwner:
				ref := alias + "." + pgx.Identifier{src.Column.Name}.Sanitize()
				if t := src.Column.Type; t != "uuid" {
					// A text owner column: only values shaped like a uuid
					// are user ids, as warden reads them.
					ref = fmt.Sprintf("(CASE WHEN %s ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN %s::uuid END)", ref, ref)
				}
				terms = append(terms, "naive.user_org("+ref+")")
			default:
				p := src.Parent.Table
				var conds []string
				for i, c := range src.FK.Columns {
					conds = append(conds, fmt.Sprintf("p.%s = %s.%s", pgx.Identifier{src.FK.RefColumns[i]}.Sanitize(), alias, pgx.Identifier{c}.Sanitize()))
				}
				terms = append(terms, fmt.Sprintf("(SELECT p.%s FROM %s p WHERE %s)", col, pgx.Identifier{p.Schema, p.Name}.Sanitize(), strings.Join(conds, " AND ")))
			}
		}
		if len(terms) == 1 {
			return terms[0]
		}
		return "coalesce(" + strings.Join(terms, ", ") + ")"
	}
	ident := func(tp *classify.TablePlan) string {
		return pgx.Identifier{tp.Table.Schema, tp.Table.Name}.Sanitize()
	}
	for _, tp := range plan.Scoped {
		add(NaiveAddColumn, tp.Name(), fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s uuid;", ident(tp), col))
	}
	for i, tp := range plan.Scoped {
		fn := fmt.Sprintf("naive.fill_%d", i)
		add(NaiveTrigger, tp.Name(), fmt.Sprintf(`CREATE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.%[2]s := %[3]s;
  RETURN NEW;
END $$;
CREATE TRIGGER naive_fill BEFORE INSERT OR UPDATE ON %[4]s FOR EACH ROW WHEN (NEW.%[2]s IS NULL) EXECUTE FUNCTION %[1]s();`,
			fn, col, derive(tp, "NEW"), ident(tp)))
	}
	for _, tp := range plan.Scoped {
		add(NaiveUpdate, tp.Name(), fmt.Sprintf("UPDATE %s t SET %s = coalesce(%s, %s) WHERE t.%s IS NULL;",
			ident(tp), col, derive(tp, "t"), def, col))
	}
	for _, tp := range plan.Scoped {
		add(NaiveSetNotNull, tp.Name(), fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL;", ident(tp), col))
	}
	for _, tp := range plan.Scoped {
		cols := []string{col}
		if tp.Class == classify.Inherited {
			for _, c := range tp.ParentFK.Columns {
				cols = append(cols, pgx.Identifier{c}.Sanitize())
			}
		}
		add(NaiveIndex, tp.Name(), fmt.Sprintf("CREATE INDEX ON %s (%s);", ident(tp), strings.Join(cols, ", ")))
	}
	for _, tp := range plan.Scoped {
		add(NaiveFK, tp.Name(), fmt.Sprintf("ALTER TABLE %s ADD FOREIGN KEY (%s) REFERENCES %s (%s) ON DELETE %s;",
			ident(tp), col, tenant, pgx.Identifier{tn.Key}.Sanitize(), strings.ToUpper(tn.OnDelete)))
	}
	return steps
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
