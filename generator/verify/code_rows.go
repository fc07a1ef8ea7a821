package verify

import (
	"github.com/dave/jennifer/jen"
)

// rowChecks are the checks that change rows (rolled back) or act as the API
// roles, and the check of the tables warden leaves alone.
func (m *model) rowChecks() []jen.Code {
	tbl := table()
	col := jen.Id("orgColumn")
	whereRow := " WHERE tableoid = $1 AND ctid = $2::tid"
	return []jen.Code{
		doc("checkOrgChange moves an existing row to a throwaway org, which the",
			"immutability trigger must reject with immutableSQLState, naming the table",
			"and column. With replica it runs under session_replication_role =",
			"replica, which skips every trigger not enabled ALWAYS (and foreign keys).").Line().
			Func().Id("checkOrgChange").Params(tParam(), jen.Id("c").Op("*").Id("checker"), jen.Id("replica").Bool()).Block(
			noRow("has no row to change: the trigger is asserted by immutable_trigger only"),
			rollback(jen.Id("c").Dot("conn"),
				jen.Var().Id("org").String(),
				queryRow(jen.Id("tx"), jen.Id("newOrgSQL"), nil, jen.Op("&").Id("org")),
				jen.If(jen.Id("replica")).Block(
					jen.Id("exec").Call(jen.Id("t"), jen.Id("tx"), jen.Lit("SET LOCAL session_replication_role = replica")),
				),
				jen.Id("sql").Op(":=").Add(sprintf(jen.Lit("UPDATE %s SET %s = $1 WHERE tableoid = $2 AND ctid = $3::tid"), tableIdent(), orgQuoted())),
				jen.List(jen.Id("_"), jen.Id("err")).Op(":=").Id("tx").Dot("Exec").Call(background(), jen.Id("sql"), jen.Id("org"), row().Dot("TableOID"), row().Dot("CTID")),
				pgErrVar(),
				jen.Switch().Block(
					jen.Case(jen.Id("err").Op("==").Nil()).Block(
						tCall("Errorf", jen.Lit("%s: changing a row's %s from %s to %s succeeded; want SQLSTATE %s"),
							tbl, col, row().Dot("Org"), jen.Id("org"), jen.Id("immutableSQLState")),
					),
					jen.Case(jen.Op("!").Add(asPgErr()).Op("||").Id("pgErr").Dot("Code").Op("!=").Id("immutableSQLState")).Block(
						tCall("Errorf", jen.Lit("%s: changing a row's %s: got %v; want SQLSTATE %s"), tbl, col, jen.Id("err"), jen.Id("immutableSQLState")),
					),
					jen.Case(jen.Op("!").Add(contains(jen.Id("pgErr").Dot("Message"), tbl.Clone().Dot("Name"))).Op("||").Op("!").Add(contains(jen.Id("pgErr").Dot("Message"), col))).Block(
						tCall("Errorf", jen.Lit("%s: the error %q does not name the table and %s"), tbl, jen.Id("pgErr").Dot("Message"), col),
					),
				),
			),
		),

		checkFunc([]string{
			"checkNormalUpdate sets a column of an existing row to its own value: the",
			"immutability trigger fires on every update and must let it pass.",
		}, "checkNormalUpdate",
			noRow("has no row to update"),
			rollback(jen.Id("c").Dot("conn"),
				jen.Id("col").Op(":=").Id("quote").Call(tbl.Clone().Dot("UpdateColumn")),
				jen.Id("sql").Op(":=").Add(sprintf(jen.Lit("UPDATE %s SET %s = %s"+whereRow+" RETURNING %s::text"), tableIdent(), jen.Id("col"), jen.Id("col"), orgQuoted())),
				jen.Var().Id("org").Op("*").String(),
				jen.If(jen.Id("err").Op(":=").Id("tx").Dot("QueryRow").Call(background(), jen.Id("sql"), row().Dot("TableOID"), row().Dot("CTID")).Dot("Scan").Call(jen.Op("&").Id("org")), jen.Id("err").Op("!=").Nil()).Block(
					tCall("Fatalf", jen.Lit("%s: a normal update failed: %v\n%s"), tbl, jen.Id("err"), jen.Id("sql")),
				),
				jen.If(jen.Id("text").Call(jen.Id("org")).Op("!=").Add(row()).Dot("Org")).Block(
					tCall("Errorf", jen.Lit("%s: a normal update changed %s from %s to %s"), tbl, col, row().Dot("Org"), jen.Id("show").Call(jen.Id("org"))),
				),
			),
		),

		checkFunc([]string{
			"checkPolicies checks that row-level security is on and that warden's",
			"policies are there: RESTRICTIVE, TO PUBLIC, comparing " + m.orgColumn + " with",
			"auth_org_id() (and the permissive orgAccessPolicy where it was added).",
		}, "checkPolicies",
			jen.Var().Id("enabled").Bool(),
			queryRow(jen.Id("c").Dot("conn"), jen.Lit("SELECT relrowsecurity FROM pg_catalog.pg_class WHERE oid = $1::regclass"), []jen.Code{tableIdent()}, jen.Op("&").Id("enabled")),
			jen.If(jen.Op("!").Id("enabled")).Block(
				tCall("Errorf", jen.Lit("%s: row-level security is not enabled"), tbl),
			),
			sqlConst("sql", policySQL),
			jen.Id("want").Op(":=").Append(jen.Index().Id("policy").Values(), jen.Id("restrictivePolicies").Op("...")),
			jen.If(tbl.Clone().Dot("OrgPolicy")).Block(
				jen.Id("want").Op("=").Append(jen.Id("want"), jen.Id("policy").Values(jen.Id("Name").Op(":").Id("orgAccessPolicy"), jen.Id("Command").Op(":").Lit("ALL"))),
			),
			jen.For(jen.List(jen.Id("_"), jen.Id("p")).Op(":=").Range().Id("want")).Block(
				jen.Var().List(jen.Id("permissive"), jen.Id("public")).Bool(),
				jen.Var().List(jen.Id("command"), jen.Id("exprs")).String(),
				jen.If(jen.Op("!").Add(queryRow(jen.Id("c").Dot("conn"), jen.Id("sql"), []jen.Code{tableIdent(), jen.Id("p").Dot("Name")},
					jen.Op("&").Id("permissive"), jen.Op("&").Id("command"), jen.Op("&").Id("public"), jen.Op("&").Id("exprs")))).Block(
					tCall("Errorf", jen.Lit("%s has no policy %s"), tbl, jen.Id("p").Dot("Name")),
					jen.Continue(),
				),
				jen.If(jen.Id("wantPermissive").Op(":=").Id("p").Dot("Name").Op("==").Id("orgAccessPolicy"), jen.Id("permissive").Op("!=").Id("wantPermissive")).Block(
					tCall("Errorf", jen.Lit("%s: policy %s is %s, want %s"), tbl, jen.Id("p").Dot("Name"), jen.Id("kind").Call(jen.Id("permissive")), jen.Id("kind").Call(jen.Id("wantPermissive"))),
				),
				jen.If(jen.Id("command").Op("!=").Id("p").Dot("Command").Op("||").Op("!").Id("public")).Block(
					tCall("Errorf", jen.Lit("%s: policy %s is FOR %s (TO PUBLIC: %v), want FOR %s TO PUBLIC"), tbl, jen.Id("p").Dot("Name"), jen.Id("command"), jen.Id("public"), jen.Id("p").Dot("Command")),
				),
				jen.If(jen.Op("!").Add(contains(jen.Id("exprs"), col)).Op("||").Op("!").Add(contains(jen.Id("exprs"), jen.Lit("auth_org_id()")))).Block(
					tCall("Errorf", jen.Lit("%s: policy %s does not compare %s with auth_org_id(): %s"), tbl, jen.Id("p").Dot("Name"), col, jen.Id("exprs")),
				),
			),
		),
		doc("kind names a policy kind.").Line().
			Func().Id("kind").Params(jen.Id("permissive").Bool()).String().Block(
			jen.If(jen.Id("permissive")).Block(jen.Return(jen.Lit("PERMISSIVE"))),
			jen.Return(jen.Lit("RESTRICTIVE")),
		),

		m.isolation(),

		checkFunc([]string{
			"checkNoOrgClaim: a token without the org claim sees nothing, not even the",
			"rows its subject owns.",
		}, "checkNoOrgClaim",
			rollback(jen.Id("c").Dot("conn"),
				jen.Id("subject").Op(":=").Id("probeUser"),
				jen.If(row().Op("!=").Nil().Op("&&").Add(row()).Dot("Owner").Op("!=").Lit("")).Block(
					jen.Id("subject").Op("=").Add(row()).Dot("Owner"),
				),
				jen.Id("actAs").Call(jen.Id("t"), jen.Id("tx"), jen.Lit("authenticated"), jen.Id("claims").Call(jen.Id("subject"), jen.Lit(""))),
				jen.Var().Id("n").Int64(),
				queryRow(jen.Id("tx"), jen.Lit("SELECT count(*) FROM ").Op("+").Add(tableIdent()), nil, jen.Op("&").Id("n")),
				jen.If(jen.Id("n").Op(">").Lit(0)).Block(
					tCall("Errorf", jen.Lit("%s: a token without an org claim (subject %s) sees %d rows"), tbl, jen.Id("subject"), jen.Id("n")),
				),
			),
		),

		checkFunc([]string{
			"checkAnon: the anon role sees nothing, or is refused outright.",
		}, "checkAnon",
			rollback(jen.Id("c").Dot("conn"),
				jen.Id("actAs").Call(jen.Id("t"), jen.Id("tx"), jen.Lit("anon"), jen.Lit(`{"role":"anon"}`)),
				jen.Var().Id("n").Int64(),
				jen.Id("err").Op(":=").Id("tx").Dot("QueryRow").Call(background(), jen.Lit("SELECT count(*) FROM ").Op("+").Add(tableIdent())).Dot("Scan").Call(jen.Op("&").Id("n")),
				pgErrVar(),
				jen.Switch().Block(
					jen.Case(asPgErr().Op("&&").Id("pgErr").Dot("Code").Op("==").Lit("42501")).Block(
						tCall("Logf", jen.Lit("anon is refused: %s"), jen.Id("pgErr").Dot("Message")),
					),
					jen.Case(jen.Id("err").Op("!=").Nil()).Block(
						tCall("Fatalf", jen.Lit("%s: reading as anon: %v"), tbl, jen.Id("err")),
					),
					jen.Case(jen.Id("n").Op(">").Lit(0)).Block(
						tCall("Errorf", jen.Lit("%s: anon sees %d rows"), tbl, jen.Id("n")),
					),
				),
			),
		),

		m.untouched(),
	}
}

// isolation renders checkIsolation.
func (m *model) isolation() jen.Code {
	tbl := table()
	col := jen.Id("orgColumn")
	count := func(org jen.Code) *jen.Statement {
		return queryRow(jen.Id("tx"), jen.Id("count"), []jen.Code{org}, jen.Op("&").Id("visible"), jen.Op("&").Id("foreign"))
	}
	return checkFunc([]string{
		"checkIsolation acts as an authenticated user of the sample row's org: it",
		"must see no row of another org (and, where warden's policy is the only",
		"permissive one, every row of its own), and updating or deleting another",
		"org's row must touch nothing. A user of an org with no rows sees nothing.",
	}, "checkIsolation",
		rollback(jen.Id("c").Dot("conn"),
			jen.Id("count").Op(":=").Add(sprintf(jen.Lit("SELECT count(*), count(*) FILTER (WHERE %s IS DISTINCT FROM $1) FROM %s"), orgQuoted(), tableIdent())),
			jen.Var().List(jen.Id("visible"), jen.Id("foreign")).Int64(),
			jen.If(row().Op("==").Nil()).Block(
				tCall("Logf", jen.Lit("%s has no rows: only a user of an org with no rows is tried"), tbl),
			).Else().Block(
				jen.Id("org").Op(":=").Add(row()).Dot("Org"),
				jen.If(jen.Id("org").Op("==").Lit("")).Block(
					tCall("Fatalf", jen.Lit("%s: the sample row has no %s"), tbl, col),
				),
				jen.Comment("As the table owner: how many rows the org has, and a row of"),
				jen.Comment("another org with its owner as the JWT subject, so that a per-user"),
				jen.Comment("policy (\"users read their own rows\") is tried across orgs too."),
				jen.Var().List(jen.Id("total"), jen.Id("others")).Int64(),
				queryRow(jen.Id("tx"), jen.Id("count"), []jen.Code{jen.Id("org")}, jen.Op("&").Id("total"), jen.Op("&").Id("others")),
				jen.Id("subject").Op(":=").Id("probeUser"),
				jen.Var().Id("other").Op("*").Id("rowRef"),
				jen.If(jen.Id("others").Op(">").Lit(0)).Block(
					jen.Id("other").Op("=").Op("&").Id("rowRef").Values(),
					jen.Var().Id("owner").Op("*").String(),
					jen.Id("sql").Op(":=").Add(sprintf(jen.Lit("SELECT r.tableoid, r.ctid::text, to_jsonb(r) ->> $2 FROM %s r WHERE %s <> $1 LIMIT 1"), tableIdent(), orgQuoted())),
					queryRow(jen.Id("tx"), jen.Id("sql"), []jen.Code{jen.Id("org"), tbl.Clone().Dot("Owner")},
						jen.Op("&").Id("other").Dot("TableOID"), jen.Op("&").Id("other").Dot("CTID"), jen.Op("&").Id("owner")),
					jen.If(jen.Id("owner").Op("!=").Nil()).Block(
						jen.Id("subject").Op("=").Op("*").Id("owner"),
					),
				),
				jen.Id("actAs").Call(jen.Id("t"), jen.Id("tx"), jen.Lit("authenticated"), jen.Id("claims").Call(jen.Id("subject"), jen.Id("org"))),
				count(jen.Id("org")),
				jen.If(jen.Id("foreign").Op(">").Lit(0)).Block(
					tCall("Errorf", jen.Lit("%s: a user of org %s sees %d rows of other orgs"), tbl, jen.Id("org"), jen.Id("foreign")),
				),
				jen.If(tbl.Clone().Dot("OrgPolicy").Op("&&").Id("visible").Op("!=").Id("total").Op("-").Id("others")).Block(
					tCall("Errorf", jen.Lit("%s: a user of org %s sees %d of its org's %d rows"), tbl, jen.Id("org"), jen.Id("visible"), jen.Id("total").Op("-").Id("others")),
				),
				tCall("Logf", jen.Lit("a user of org %s (subject %s) sees %d rows; the table has %d rows of other orgs"), jen.Id("org"), jen.Id("subject"), jen.Id("visible"), jen.Id("others")),
				jen.If(jen.Id("other").Op("!=").Nil()).Block(
					jen.For(jen.List(jen.Id("_"), jen.Id("sql")).Op(":=").Range().Index().String().Values(
						jen.Line().Add(sprintf(jen.Lit("UPDATE %s SET %s = %s WHERE tableoid = $1 AND ctid = $2::tid"), tableIdent(), orgQuoted(), orgQuoted())),
						jen.Line().Add(sprintf(jen.Lit("DELETE FROM %s WHERE tableoid = $1 AND ctid = $2::tid"), tableIdent())),
						jen.Line(),
					)).Block(
						jen.List(jen.Id("tag"), jen.Id("err")).Op(":=").Id("tx").Dot("Exec").Call(background(), jen.Id("sql"), jen.Id("other").Dot("TableOID"), jen.Id("other").Dot("CTID")),
						jen.If(jen.Id("err").Op("!=").Nil()).Block(
							tCall("Fatalf", jen.Lit("%s: %v\n%s"), tbl, jen.Id("err"), jen.Id("sql")),
						),
						jen.If(jen.Id("tag").Dot("RowsAffected").Call().Op("!=").Lit(0)).Block(
							tCall("Errorf", jen.Lit("%s: a user of org %s changed a row of another org: %s"), tbl, jen.Id("org"), jen.Id("tag")),
						),
					),
				),
			),
			jen.Id("actAs").Call(jen.Id("t"), jen.Id("tx"), jen.Lit("authenticated"), jen.Id("claims").Call(jen.Id("probeUser"), jen.Id("probeOrg"))),
			count(jen.Id("probeOrg")),
			jen.If(jen.Id("visible").Op(">").Lit(0)).Block(
				tCall("Errorf", jen.Lit("%s: a user of an org with no rows sees %d rows"), tbl, jen.Id("visible")),
			),
		),
	)
}

// untouched renders checkUntouched.
func (m *model) untouched() jen.Code {
	name := func() *jen.Statement { return jen.Id("tb").Dot("Schema").Op("+").Lit(".").Op("+").Id("tb").Dot("Name") }
	return doc("checkUntouched checks that each table has no "+m.orgColumn+" column and no",
		"trigger or policy of warden's.").Line().
		Func().Id("checkUntouched").Params(tParam(), jen.Id("tables").Index().Id("table")).Block(
		jen.Id("conn").Op(":=").Id("connect").Call(jen.Id("t")),
		jen.Id("names").Op(":=").Index().String().Values(jen.Id("orgAccessPolicy"), jen.Id("fillTrigger"), jen.Id("immutableTrigger")),
		jen.For(jen.List(jen.Id("_"), jen.Id("p")).Op(":=").Range().Id("restrictivePolicies")).Block(
			jen.Id("names").Op("=").Append(jen.Id("names"), jen.Id("p").Dot("Name")),
		),
		jen.For(jen.List(jen.Id("_"), jen.Id("tb")).Op(":=").Range().Id("tables")).Block(
			jen.Id("ident").Op(":=").Qual(pgxPath, "Identifier").Values(jen.Id("tb").Dot("Schema"), jen.Id("tb").Dot("Name")).Dot("Sanitize").Call(),
			tCall("Run", name(), jen.Func().Params(tParam()).Block(
				tCall("Run", jen.Lit("no_org_id"), jen.Func().Params(tParam()).Block(
					jen.Var().Id("n").Int64(),
					queryRow(jen.Id("conn"), jen.Lit("SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped"),
						[]jen.Code{jen.Id("ident"), jen.Id("orgColumn")}, jen.Op("&").Id("n")),
					jen.If(jen.Id("n").Op(">").Lit(0)).Block(
						tCall("Errorf", jen.Lit("%s has a column %s"), name(), jen.Id("orgColumn")),
					),
				)),
				tCall("Run", jen.Lit("no_warden_objects"), jen.Func().Params(tParam()).Block(
					sqlConst("sql", wardenObjectsSQL),
					jen.Var().Id("found").Index().String(),
					queryRow(jen.Id("conn"), jen.Id("sql"), []jen.Code{jen.Id("ident"), jen.Id("names")}, jen.Op("&").Id("found")),
					jen.If(jen.Len(jen.Id("found")).Op(">").Lit(0)).Block(
						tCall("Errorf", jen.Lit("%s has %s"), name(), join(jen.Id("found"), ", ")),
					),
				)),
			)),
		),
	)
}

// helpers are the small functions every check uses.
func (m *model) helpers() []jen.Code {
	ctxParam := jen.Id("ctx").Qual("context", "Context")
	argsParam := jen.Id("args").Op("...").Any()
	return []jen.Code{
		doc("connect opens the database named by databaseURLEnv for the test, or skips",
			"the test when the variable is unset.").Line().
			Func().Id("connect").Params(tParam()).Op("*").Qual(pgxPath, "Conn").Block(
			tCall("Helper"),
			jen.Id("url").Op(":=").Qual("os", "Getenv").Call(jen.Id("databaseURLEnv")),
			jen.If(jen.Id("url").Op("==").Lit("")).Block(
				tCall("Skip", jen.Id("databaseURLEnv").Op("+").Lit(" is not set: point it at a migrated database to run these checks")),
			),
			jen.List(jen.Id("conn"), jen.Id("err")).Op(":=").Qual(pgxPath, "Connect").Call(background(), jen.Id("url")),
			jen.If(jen.Id("err").Op("!=").Nil()).Block(
				tCall("Fatalf", jen.Lit("connecting to $%s: %v"), jen.Id("databaseURLEnv"), jen.Id("err")),
			),
			tCall("Cleanup", jen.Func().Params().Block(jen.Id("conn").Dot("Close").Call(background()))),
			jen.Return(jen.Id("conn")),
		),

		doc("rollback runs fn in a transaction that is always rolled back, so the",
			"checks leave the database as they found it.").Line().
			Func().Id("rollback").Params(tParam(), jen.Id("conn").Op("*").Qual(pgxPath, "Conn"), jen.Id("fn").Func().Params(jen.Id("tx").Qual(pgxPath, "Tx"))).Block(
			tCall("Helper"),
			jen.List(jen.Id("tx"), jen.Id("err")).Op(":=").Id("conn").Dot("Begin").Call(background()),
			jen.If(jen.Id("err").Op("!=").Nil()).Block(
				tCall("Fatalf", jen.Lit("begin: %v"), jen.Id("err")),
			),
			jen.Defer().Id("tx").Dot("Rollback").Call(background()),
			jen.Id("fn").Call(jen.Id("tx")),
		),

		doc("actAs switches the transaction to role with the JWT claims a request",
			"would carry, as PostgREST does.").Line().
			Func().Id("actAs").Params(tParam(), jen.Id("tx").Qual(pgxPath, "Tx"), jen.List(jen.Id("role"), jen.Id("claims")).String()).Block(
			tCall("Helper"),
			jen.If(
				jen.List(jen.Id("_"), jen.Id("err")).Op(":=").Id("tx").Dot("Exec").Call(background(), jen.Lit("SET LOCAL ROLE ").Op("+").Id("quote").Call(jen.Id("role"))),
				jen.Id("err").Op("!=").Nil(),
			).Block(
				tCall("Fatalf", jen.Lit("SET ROLE %s: %v (the row-level security checks act as the API roles anon and authenticated: "+
					"they must exist and the user of $%s must be a member of them)"), jen.Id("role"), jen.Id("err"), jen.Id("databaseURLEnv")),
			),
			jen.Id("exec").Call(jen.Id("t"), jen.Id("tx"), jen.Lit("SELECT pg_catalog.set_config('request.jwt.claims', $1, true)"), jen.Id("claims")),
		),

		doc("claims returns the JWT claims of an authenticated user, with the org",
			"claim in app_metadata unless org is empty.").Line().
			Func().Id("claims").Params(jen.List(jen.Id("subject"), jen.Id("org")).String()).String().Block(
			jen.Id("c").Op(":=").Map(jen.String()).Any().Values(jen.Lit("sub").Op(":").Id("subject"), jen.Lit("role").Op(":").Lit("authenticated")),
			jen.If(jen.Id("org").Op("!=").Lit("")).Block(
				jen.Id("c").Index(jen.Lit("app_metadata")).Op("=").Map(jen.String()).String().Values(jen.Id("orgColumn").Op(":").Id("org")),
			),
			jen.List(jen.Id("b"), jen.Id("err")).Op(":=").Qual("encoding/json", "Marshal").Call(jen.Id("c")),
			jen.If(jen.Id("err").Op("!=").Nil()).Block(jen.Panic(jen.Id("err"))),
			jen.Return(jen.String().Call(jen.Id("b"))),
		),

		doc("querier is a connection or a transaction.").Line().
			Type().Id("querier").Interface(
			jen.Id("Exec").Params(ctxParam, jen.Id("sql").String(), argsParam).Params(jen.Qual(pgconnPath, "CommandTag"), jen.Error()),
			jen.Id("QueryRow").Params(ctxParam.Clone(), jen.Id("sql").String(), argsParam.Clone()).Qual(pgxPath, "Row"),
		),

		doc("queryRow scans the one row of sql into dest and reports whether there",
			"was one; any other error fails the test.").Line().
			Func().Id("queryRow").Params(tParam(), jen.Id("q").Id("querier"), jen.Id("sql").String(), jen.Id("args").Index().Any(), jen.Id("dest").Op("...").Any()).Bool().Block(
			tCall("Helper"),
			jen.Id("err").Op(":=").Id("q").Dot("QueryRow").Call(background(), jen.Id("sql"), jen.Id("args").Op("...")).Dot("Scan").Call(jen.Id("dest").Op("...")),
			jen.If(jen.Qual("errors", "Is").Call(jen.Id("err"), jen.Qual(pgxPath, "ErrNoRows"))).Block(jen.Return(jen.False())),
			jen.If(jen.Id("err").Op("!=").Nil()).Block(
				tCall("Fatalf", jen.Lit("%v\n%s"), jen.Id("err"), jen.Id("sql")),
			),
			jen.Return(jen.True()),
		),

		doc("exec runs sql and fails the test on error.").Line().
			Func().Id("exec").Params(tParam(), jen.Id("q").Id("querier"), jen.Id("sql").String(), argsParam.Clone()).Block(
			tCall("Helper"),
			jen.If(
				jen.List(jen.Id("_"), jen.Id("err")).Op(":=").Id("q").Dot("Exec").Call(background(), jen.Id("sql"), jen.Id("args").Op("...")),
				jen.Id("err").Op("!=").Nil(),
			).Block(
				tCall("Fatalf", jen.Lit("%v\n%s"), jen.Id("err"), jen.Id("sql")),
			),
		),

		doc("quote quotes an identifier for SQL text.").Line().
			Func().Id("quote").Params(jen.Id("name").String()).String().Block(
			jen.Return(jen.Qual(pgxPath, "Identifier").Values(jen.Id("name")).Dot("Sanitize").Call()),
		),

		jen.Func().Id("strPtr").Params(jen.Id("s").String()).Op("*").String().Block(jen.Return(jen.Op("&").Id("s"))),

		doc("text returns a nullable text value, \"\" for NULL.").Line().
			Func().Id("text").Params(jen.Id("s").Op("*").String()).String().Block(
			jen.If(jen.Id("s").Op("==").Nil()).Block(jen.Return(jen.Lit(""))),
			jen.Return(jen.Op("*").Id("s")),
		),

		doc("show prints a nullable text value.").Line().
			Func().Id("show").Params(jen.Id("s").Op("*").String()).String().Block(
			jen.If(jen.Id("s").Op("==").Nil()).Block(jen.Return(jen.Lit("NULL"))),
			jen.Return(jen.Op("*").Id("s")),
		),
	}
}
