package verify

import (
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/internal/ident"
)

// This file spells out DataFile with jennifer: only what varies with the
// plan, as constants and the table lists that kit/checks.go reads. It
// reads top to bottom like the output. SQL is written as raw string
// literals, so that a reviewer reads the queries as SQL.

// file builds DataFile, without the generated header (Files adds it).
func (m *model) file(pkg string) *jen.File {
	f := jen.NewFile(pkg)
	for _, l := range []string{
		"Package " + pkg + " proves that a database was migrated to org ownership by",
		"warden's migrations. Point it at the migrated database and run it:",
		"",
		"\t" + DatabaseURLEnv + "=postgres://... go test ./generated/verify",
		"",
		"Every check that writes does so in a transaction that is rolled back, so",
		"the database is left as it was. The row-level security checks act as the",
		"API roles anon and authenticated with the JWT claims PostgREST sets.",
		"",
		"This file says what the migrations made of this database; the checks",
		"that read it, the same for every database, are in " + ChecksFile + ".",
	} {
		// A comment starting with "//" is written as is: one line each,
		// no trailing space on blank lines, a tab before the command.
		switch {
		case l == "":
			f.PackageComment("//")
		case l[0] == '\t':
			f.PackageComment("//" + l)
		default:
			f.PackageComment("// " + l)
		}
	}
	for _, part := range [][]jen.Code{m.constants(), m.tables()} {
		for _, c := range part {
			f.Add(c)
			f.Line()
		}
	}
	return f
}

// doc renders text as // comment lines; a blank line separates paragraphs.
func doc(lines ...string) *jen.Statement {
	for i, l := range lines {
		// Names from the schema reach these lines: keep each one line.
		lines[i] = ident.Comment(l)
	}
	for i, l := range lines {
		lines[i] = strings.TrimRight("// "+l, " ")
	}
	return jen.Comment(strings.Join(lines, "\n"))
}

// raw is a raw string literal, so that SQL reads as SQL; a quoted literal
// where s holds a backquote (a quoted identifier may).
func raw(s string) *jen.Statement {
	if strings.Contains(s, "`") {
		return jen.Lit(s)
	}
	return jen.Op("`" + s + "`")
}

func (m *model) constants() []jen.Code {
	code := m.planConstants()
	if m.distributed {
		code = append(code, doc("beginRequestSQL starts a request on the Citus cluster the way the app must:",
			"it settles the org of the claims set before it and passes it to the workers.").Line().
			Const().Id("beginRequestSQL").Op("=").Add(raw(`SELECT "warden".begin_request()::text`)))
	}
	return code
}

// planConstants are the constants of every plan.
func (m *model) planConstants() []jen.Code {
	return []jen.Code{
		doc("databaseURLEnv names the environment variable holding the URL of the",
			"database to check. Without it every test skips, saying so.").Line().
			Const().Id("databaseURLEnv").Op("=").Lit(DatabaseURLEnv),

		doc("The tenant of the policy: every scoped table gets orgColumn, a foreign key",
			"to tenantTable (tenantKey) with ON DELETE onDelete.").Line().
			Const().Defs(
			jen.Id("orgColumn").Op("=").Lit(m.orgColumn),
			jen.Id("tenantTable").Op("=").Add(raw(m.tenant)),
			jen.Id("tenantKey").Op("=").Lit(m.tenantKey),
			jen.Id("onDelete").Op("=").Lit(m.onDelete),
			doc("newOrgSQL adds a throwaway org, always rolled back, to move a row to."),
			jen.Id("newOrgSQL").Op("=").Add(raw(m.newOrgSQL)),
			doc("orgType is the SQL type of the tenant key and of orgColumn."),
			jen.Id("orgType").Op("=").Lit(m.orgType),
			doc("defaultOrg holds the rows no source gave an org; a row may leave it once."),
			jen.Id("defaultOrg").Op("=").Lit(m.defaultOrg),
		),

		doc("How a request carries its org (request_context): the checks act as",
			"actingRole in an org the way requestContext says, through the JWT claims",
			"(the org at claimPath) or the setting orgSetting. probeOrg is an org key",
			"no org has.").Line().
			Const().Defs(
			jen.Id("requestContext").Op("=").Lit(m.context),
			jen.Id("actingRole").Op("=").Lit(m.actingRole),
			jen.Id("orgSetting").Op("=").Lit(m.setting),
			jen.Id("probeOrg").Op("=").Lit(m.probeOrg),
		),
		doc("Where public.auth_org_id() holds a claim only for a member of the claimed",
			"org, the checks act as a member: memberSQL makes a user (the first parameter)",
			"a member of an org (the second) inside the check's transaction, isMemberSQL",
			"finds that membership and leaveSQL takes it back; memberOfSQL finds a member",
			"of an org, someUserSQL any user, userOrgSQL a user's own org. All empty where",
			"the claim is taken as it is.").Line().
			Const().Defs(
			jen.Id("memberSQL").Op("=").Add(raw(m.memberSQL)),
			jen.Id("isMemberSQL").Op("=").Add(raw(m.isMemberSQL)),
			jen.Id("leaveSQL").Op("=").Add(raw(m.leaveSQL)),
			jen.Id("memberOfSQL").Op("=").Add(raw(m.memberOfSQL)),
			jen.Id("someUserSQL").Op("=").Add(raw(m.someUserSQL)),
			jen.Id("userOrgSQL").Op("=").Add(raw(m.userOrgSQL)),
		),
		jen.Line().Var().Defs(
			jen.Id("claimPath").Op("=").Index().String().ValuesFunc(func(g *jen.Group) {
				for _, k := range m.claimPath {
					g.Lit(k)
				}
			}),
			doc("policyRoles are the roles warden's policies apply to, sorted."),
			jen.Id("policyRoles").Op("=").Index().String().ValuesFunc(func(g *jen.Group) {
				for _, r := range m.policyRoles {
					g.Lit(r)
				}
			}),
		),

		doc("What the migrations create on every scoped table under the same names.").Line().
			Const().Defs(
			doc("fillTrigger gives rows written without "+m.orgColumn+" the org of their owner",
				"or parent row, or the caller's JWT org."),
			jen.Id("fillTrigger").Op("=").Lit(m.fillTrigger),
			doc("immutableTrigger rejects a change of a row's "+m.orgColumn+" with",
				"immutableSQLState. It is enabled ALWAYS so that replication mode",
				"(session_replication_role = replica) cannot skip it."),
			jen.Id("immutableTrigger").Op("=").Lit(m.immTrigger),
			jen.Id("immutableSQLState").Op("=").Lit(migrations.ImmutableSQLState),
			doc("orgAccessPolicy is the permissive policy added where a table had no",
				"permissive policy of its own."),
			jen.Id("orgAccessPolicy").Op("=").Lit(m.accessPol),
		),

		doc("restrictivePolicies are the RESTRICTIVE policies, one per command, that",
			"require a row's "+m.orgColumn+" to be the caller's JWT org.").Line().
			Var().Id("restrictivePolicies").Op("=").Index().Id("policy").ValuesFunc(func(g *jen.Group) {
			for _, p := range m.policies {
				g.Line().Values(jen.Id("Name").Op(":").Lit(p.name), jen.Id("Command").Op(":").Lit(p.command))
			}
			g.Line()
		}),

		doc("usersClaimSQL counts the users, those without the org claim in their",
			"app_metadata and those whose claim names no org, with a few examples.").Line().
			Const().Id("usersClaimSQL").Op("=").Add(raw(m.usersClaimSQL())),
	}
}

// appMetaColumn is the users table's column whose JSON becomes the JWT's
// app_metadata (Supabase auth.users), as the JWT phase fills it.
const appMetaColumn = "raw_app_meta_data"

// usersClaimSQL is the query TestUsersHaveOrgClaim runs: the claim is read
// where the JWT phase writes it, and compared with the tenant's keys.
func (m *model) usersClaimSQL() string {
	key := ident.Quote(m.tenantKey)
	if !m.keepsClaim {
		// No claim is kept in the users table: the users whose org, by the
		// policy's mapping, is no org of the tenant table (a membership
		// without a foreign key can name one that is gone).
		org := `"warden".user_org(u.` + ident.Quote(m.usersKey) + `)`
		noOrg := org + ` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ` + m.tenant + ` o WHERE o.` + key + ` = ` + org + `)`
		return strings.Join([]string{
			`SELECT count(*), 0::bigint,`,
			`       count(*) FILTER (WHERE ` + noOrg + `),`,
			`       coalesce((array_agg(u.` + ident.Quote(m.usersKey) + `::text ORDER BY u.` + ident.Quote(m.usersKey) + `)`,
			`                 FILTER (WHERE ` + noOrg + `))[1:5], '{}')`,
			`FROM ` + m.users + ` u`,
		}, "\n")
	}
	claim := `u.` + ident.Quote(appMetaColumn) + ` ->> ` + ident.Literal(m.orgColumn)
	noOrg := `NOT EXISTS (SELECT 1 FROM ` + m.tenant + ` o WHERE o.` + key + `::text = ` + claim + `)`
	return strings.Join([]string{
		`SELECT count(*),`,
		`       count(*) FILTER (WHERE coalesce(` + claim + `, '') = ''),`,
		`       count(*) FILTER (WHERE coalesce(` + claim + `, '') <> '' AND ` + noOrg + `),`,
		`       coalesce((array_agg(u.` + ident.Quote(m.usersKey) + `::text ORDER BY u.` + ident.Quote(m.usersKey) + `)`,
		`                 FILTER (WHERE ` + noOrg + `))[1:5], '{}')`,
		`FROM ` + m.users + ` u`,
	}, "\n")
}

// tables are the per-table expectations: one scopedTable literal per scoped
// table, and the lists of tables that must be left alone.
func (m *model) tables() []jen.Code {
	scoped := jen.Var().Id("scopedTables").Op("=").Index().Id("scopedTable").ValuesFunc(func(g *jen.Group) {
		for _, s := range m.scoped {
			fields := []jen.Code{
				jen.Line().Id("Schema").Op(":").Lit(s.schema),
				jen.Line().Id("Name").Op(":").Lit(s.name),
				jen.Line().Id("ForeignKey").Op(":").Lit(s.foreignKey),
				jen.Line().Id("Index").Op(":").Lit(s.index),
				jen.Line().Id("IndexColumns").Op(":").Index().String().ValuesFunc(func(g *jen.Group) {
					for _, c := range s.indexColumns {
						g.Lit(c)
					}
				}),
				jen.Line().Id("OrgPolicy").Op(":").Lit(s.orgPolicy),
				jen.Line().Id("UpdateColumn").Op(":").Lit(s.updateColumn),
			}
			if len(s.noOrg) > 0 {
				fields = append(fields, jen.Line().Id("NoOrg").Op(":").Index().Id("columnValue").ValuesFunc(func(g *jen.Group) {
					for _, v := range s.noOrg {
						g.Values(jen.Id("Column").Op(":").Lit(v.column), jen.Id("SQL").Op(":").Lit(v.sql))
					}
				}))
			}
			if s.owner != "" {
				fields = append(fields, jen.Line().Id("Owner").Op(":").Lit(s.owner))
			}
			if s.noFill {
				fields = append(fields, jen.Line().Id("NoFill").Op(":").Lit(true))
			}
			if s.noOrgGets != "" {
				fields = append(fields, jen.Line().Id("NoOrgGets").Op(":").Lit(s.noOrgGets))
			}
			if s.onDelete != "" {
				fields = append(fields, jen.Line().Id("OnDelete").Op(":").Lit(s.onDelete))
			}
			// One item per table: a separate comment item would get the
			// list's comma appended to it.
			item := g.Line().Comment(ident.Comment(s.class + ": " + s.comment))
			if s.noOrgNote != "" {
				item.Line().Comment(ident.Comment("No NoOrg: " + s.noOrgNote + "."))
			}
			item.Line().Values(append(fields, jen.Line())...)
		}
		g.Line()
	})
	list := func(name string, refs []tableRef) *jen.Statement {
		return jen.Var().Id(name).Op("=").Index().Id("table").ValuesFunc(func(g *jen.Group) {
			for _, r := range refs {
				g.Line().Values(jen.Id("Schema").Op(":").Lit(r.schema), jen.Id("Name").Op(":").Lit(r.name))
			}
			if len(refs) > 0 {
				g.Line()
			}
		})
	}
	return []jen.Code{
		doc("scopedTables are the tables moved to org ownership, parents before",
			"children, each with how it gets its org.").Line().Add(scoped),
		doc("excludedTables stay user-owned: the migrations leave them alone.").Line().
			Add(list("excludedTables", m.excluded)),
		doc("globalTables are shared reference data with no owner.").Line().
			Add(list("globalTables", m.global)),
	}
}
