package verify

import (
	"github.com/dave/jennifer/jen"
)

// SQL of the rendered checks. They read pg_catalog only, so they work on
// any PostgreSQL the migrations run on, and take the table as a
// $1::regclass text so that quoting is done once, by pgx.Identifier.
const (
	columnSQL = `SELECT pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = $1::regclass AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped`

	foreignKeySQL = `SELECT c.confrelid = $3::regclass,
       ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
       ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i),
       CASE c.confdeltype WHEN 'a' THEN 'no action' WHEN 'r' THEN 'restrict' WHEN 'c' THEN 'cascade'
                          WHEN 'n' THEN 'set null' WHEN 'd' THEN 'set default' END,
       c.convalidated, pg_catalog.pg_get_constraintdef(c.oid)
FROM pg_catalog.pg_constraint c
WHERE c.conrelid = $1::regclass AND c.conname = $2 AND c.contype = 'f'`

	indexSQL = `SELECT i.indisvalid,
       ARRAY(SELECT coalesce(a.attname::text, pg_catalog.pg_get_indexdef(i.indexrelid, k.i::int, true))
             FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, i)
             LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
             WHERE k.i <= i.indnkeyatts ORDER BY k.i)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class x ON x.oid = i.indexrelid
WHERE i.indrelid = $1::regclass AND x.relname = $2`

	triggerSQL = `SELECT t.tgtype::int & 1 = 1, t.tgtype::int & 2 = 2, t.tgtype::int & 4 = 4, t.tgtype::int & 16 = 16,
       t.tgenabled::text
FROM pg_catalog.pg_trigger t
WHERE t.tgrelid = $1::regclass AND t.tgname = $2 AND NOT t.tgisinternal`

	partitionTriggerSQL = `SELECT ARRAY(
  SELECT p.relid::regclass::text FROM pg_catalog.pg_partition_tree($1::regclass) p
  WHERE p.isleaf AND p.relid <> $1::regclass AND NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = p.relid AND t.tgname = $2 AND t.tgenabled = 'A')
  ORDER BY 1)`

	insertColumnsSQL = `SELECT coalesce(array_agg(a.attname::text ORDER BY a.attnum), '{}')
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> $2
  AND a.attgenerated = '' AND a.attidentity = '' AND (NOT a.atthasdef OR a.attname = ANY($3))`

	policySQL = `SELECT p.polpermissive,
       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
       p.polroles = '{0}',
       coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '') || ' ' ||
       coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '')
FROM pg_catalog.pg_policy p
WHERE p.polrelid = $1::regclass AND p.polname = $2`

	wardenObjectsSQL = `SELECT ARRAY(
  SELECT 'trigger ' || tgname FROM pg_catalog.pg_trigger WHERE tgrelid = $1::regclass AND tgname = ANY($2)
  UNION ALL
  SELECT 'policy ' || polname FROM pg_catalog.pg_policy WHERE polrelid = $1::regclass AND polname = ANY($2)
  ORDER BY 1)`
)

// checkFunc declares func name(t *testing.T, c *checker) { body }.
func checkFunc(comment []string, name string, body ...jen.Code) jen.Code {
	s := jen.Null()
	if len(comment) > 0 {
		s = doc(comment...).Line()
	}
	return s.Func().Id(name).Params(tParam(), jen.Id("c").Op("*").Id("checker")).Block(body...)
}

// sqlConst declares const name = `sql` inside a function.
func sqlConst(name, sql string) *jen.Statement {
	return jen.Const().Id(name).Op("=").Add(raw(sql))
}

func (m *model) checks() []jen.Code {
	return append(m.catalogChecks(), m.rowChecks()...)
}

// catalogChecks are the checks that read the catalog (and sampleRow).
func (m *model) catalogChecks() []jen.Code {
	// Messages name the table first: c.table prints as schema.name.
	tbl := table()
	col := jen.Id("orgColumn")
	return []jen.Code{
		doc("checker holds what the checks of one scoped table share.").Line().
			Type().Id("checker").Struct(
			jen.Id("conn").Op("*").Qual(pgxPath, "Conn"),
			jen.Id("table").Id("scopedTable"),
			doc("row is an existing row of the table, nil when it has none."),
			jen.Id("row").Op("*").Id("rowRef"),
		),
		doc("rowRef locates one row (TableOID is the partition's for a partitioned",
			"table) and holds its org and owner.").Line().
			Type().Id("rowRef").Struct(
			jen.Id("TableOID").Uint32(),
			jen.Id("CTID").String(),
			jen.List(jen.Id("Org"), jen.Id("Owner")).String(),
		),
		doc("String names the table schema.name, as the subtests do.").Line().
			Func().Params(jen.Id("st").Id("scopedTable")).Id("String").Params().String().Block(
			jen.Return(jen.Id("st").Dot("Schema").Op("+").Lit(".").Op("+").Id("st").Dot("Name")),
		),
		doc("ident is the table's quoted, qualified name for SQL text.").Line().
			Func().Params(jen.Id("st").Id("scopedTable")).Id("ident").Params().String().Block(
			jen.Return(jen.Qual(pgxPath, "Identifier").Values(jen.Id("st").Dot("Schema"), jen.Id("st").Dot("Name")).Dot("Sanitize").Call()),
		),

		doc("sampleRow returns one row of the table, or nil when it is empty. It reads",
			"the row as JSON so that a missing "+m.orgColumn+" column fails its own check,",
			"not this one.").Line().
			Func().Id("sampleRow").Params(tParam(), jen.Id("conn").Op("*").Qual(pgxPath, "Conn"), jen.Id("st").Id("scopedTable")).Op("*").Id("rowRef").Block(
			tCall("Helper"),
			jen.Var().Id("r").Id("rowRef"),
			jen.Var().List(jen.Id("org"), jen.Id("owner")).Op("*").String(),
			jen.Id("sql").Op(":=").Add(sprintf(jen.Lit("SELECT r.tableoid, r.ctid::text, to_jsonb(r) ->> $1, to_jsonb(r) ->> $2 FROM %s r LIMIT 1"), jen.Id("st").Dot("ident").Call())),
			jen.If(jen.Op("!").Add(queryRow(jen.Id("conn"), jen.Id("sql"), []jen.Code{col, jen.Id("st").Dot("Owner")},
				jen.Op("&").Id("r").Dot("TableOID"), jen.Op("&").Id("r").Dot("CTID"), jen.Op("&").Id("org"), jen.Op("&").Id("owner")))).Block(
				jen.Return(jen.Nil()),
			),
			jen.List(jen.Id("r").Dot("Org"), jen.Id("r").Dot("Owner")).Op("=").List(jen.Id("text").Call(jen.Id("org")), jen.Id("text").Call(jen.Id("owner"))),
			jen.Return(jen.Op("&").Id("r")),
		),

		checkFunc([]string{"checkColumnUUID: the table has " + m.orgColumn + ", of type uuid."}, "checkColumnUUID",
			jen.List(jen.Id("typ"), jen.Id("_")).Op(":=").Id("orgColumnOf").Call(jen.Id("t"), jen.Id("c")),
			jen.If(jen.Id("typ").Op("!=").Lit("uuid")).Block(
				tCall("Errorf", jen.Lit("%s.%s is %s, want uuid"), tbl, col, jen.Id("typ")),
			),
		),
		checkFunc([]string{"checkNotNull: " + m.orgColumn + " is NOT NULL."}, "checkNotNull",
			jen.If(jen.List(jen.Id("_"), jen.Id("notNull")).Op(":=").Id("orgColumnOf").Call(jen.Id("t"), jen.Id("c")), jen.Op("!").Id("notNull")).Block(
				tCall("Errorf", jen.Lit("%s.%s allows NULL: SET NOT NULL (phase 4) is missing"), tbl, col),
			),
		),
		doc("orgColumnOf returns the type of the table's "+m.orgColumn+" and whether it is NOT",
			"NULL, and fails the test when there is no such column.").Line().
			Func().Id("orgColumnOf").Params(tParam(), jen.Id("c").Op("*").Id("checker")).Params(jen.Id("typ").String(), jen.Id("notNull").Bool()).Block(
			tCall("Helper"),
			sqlConst("sql", columnSQL),
			jen.If(jen.Op("!").Add(queryRow(jen.Id("c").Dot("conn"), jen.Id("sql"), []jen.Code{tableIdent(), col}, jen.Op("&").Id("typ"), jen.Op("&").Id("notNull")))).Block(
				tCall("Fatalf", jen.Lit("%s has no column %s"), tbl, col),
			),
			jen.Return(jen.Id("typ"), jen.Id("notNull")),
		),

		checkFunc([]string{"checkForeignKey: " + m.orgColumn + " references the tenant with the policy's ON DELETE,", "and the constraint is validated."}, "checkForeignKey",
			sqlConst("sql", foreignKeySQL),
			jen.Var().List(jen.Id("toTenant"), jen.Id("validated")).Bool(),
			jen.Var().List(jen.Id("cols"), jen.Id("refCols")).Index().String(),
			jen.Var().List(jen.Id("del"), jen.Id("def")).String(),
			jen.Id("fk").Op(":=").Add(tbl).Dot("ForeignKey"),
			jen.If(jen.Op("!").Add(queryRow(jen.Id("c").Dot("conn"), jen.Id("sql"), []jen.Code{tableIdent(), jen.Id("fk"), jen.Id("tenantTable")},
				jen.Op("&").Id("toTenant"), jen.Op("&").Id("cols"), jen.Op("&").Id("refCols"), jen.Op("&").Id("del"), jen.Op("&").Id("validated"), jen.Op("&").Id("def")))).Block(
				tCall("Fatalf", jen.Lit("%s has no foreign key %s"), tbl, jen.Id("fk")),
			),
			jen.If(jen.Op("!").Id("toTenant").Op("||").Add(join(jen.Id("cols"), ",")).Op("!=").Add(col).Op("||").Add(join(jen.Id("refCols"), ",")).Op("!=").Id("tenantKey")).Block(
				tCall("Errorf", jen.Lit("%s: foreign key %s is %s, want FOREIGN KEY (%s) REFERENCES %s(%s)"), tbl, jen.Id("fk"), jen.Id("def"), col, jen.Id("tenantTable"), jen.Id("tenantKey")),
			),
			jen.If(jen.Id("del").Op("!=").Id("onDelete")).Block(
				tCall("Errorf", jen.Lit("%s: foreign key %s is ON DELETE %s, want ON DELETE %s"), tbl, jen.Id("fk"),
					jen.Qual("strings", "ToUpper").Call(jen.Id("del")), jen.Qual("strings", "ToUpper").Call(jen.Id("onDelete"))),
			),
			jen.If(jen.Op("!").Id("validated")).Block(
				tCall("Errorf", jen.Lit("%s: foreign key %s is NOT VALID: its validation (phase 4) is missing"), tbl, jen.Id("fk")),
			),
		),

		checkFunc([]string{"checkIndex: the index led by " + m.orgColumn + " (then the parent key, for a table that", "inherits its org) exists and is VALID."}, "checkIndex",
			sqlConst("sql", indexSQL),
			jen.Var().Id("valid").Bool(),
			jen.Var().Id("cols").Index().String(),
			jen.Id("index").Op(":=").Add(tbl).Dot("Index"),
			jen.If(jen.Op("!").Add(queryRow(jen.Id("c").Dot("conn"), jen.Id("sql"), []jen.Code{tableIdent(), jen.Id("index")}, jen.Op("&").Id("valid"), jen.Op("&").Id("cols")))).Block(
				tCall("Fatalf", jen.Lit("%s has no index %s"), tbl, jen.Id("index")),
			),
			jen.If(
				jen.List(jen.Id("got"), jen.Id("want")).Op(":=").List(join(jen.Id("cols"), ", "), join(jen.Id("c").Dot("table").Dot("IndexColumns"), ", ")),
				jen.Id("got").Op("!=").Id("want"),
			).Block(
				tCall("Errorf", jen.Lit("%s: index %s is on (%s), want (%s)"), tbl, jen.Id("index"), jen.Id("got"), jen.Id("want")),
			),
			jen.If(jen.Op("!").Id("valid")).Block(
				tCall("Errorf", jen.Lit("%s: index %s is INVALID, left by a failed concurrent build: drop it and apply its migration again"), tbl, jen.Id("index")),
			),
		),

		checkFunc([]string{"checkNoNullRows: every row has an org."}, "checkNoNullRows",
			jen.Var().Id("n").Int64(),
			jen.Id("sql").Op(":=").Add(sprintf(jen.Lit("SELECT count(*) FROM %s WHERE %s IS NULL"), tableIdent(), orgQuoted())),
			queryRow(jen.Id("c").Dot("conn"), jen.Id("sql"), nil, jen.Op("&").Id("n")),
			jen.If(jen.Id("n").Op(">").Lit(0)).Block(
				tCall("Errorf", jen.Lit("%s: %d rows have no %s"), tbl, jen.Id("n"), col),
			),
		),

		doc("triggerSQL describes a trigger of a table: row level, BEFORE, fired on",
			"INSERT, fired on UPDATE, and its enabled state (O origin, A always,",
			"R replica, D disabled).").Line().
			Add(sqlConst("triggerSQL", triggerSQL)),
		doc("trigger returns what triggerSQL says of the table's trigger name, and fails",
			"the test when there is none.").Line().
			Func().Id("trigger").Params(tParam(), jen.Id("c").Op("*").Id("checker"), jen.List(jen.Id("name"), jen.Id("missing")).String()).
			Params(jen.List(jen.Id("row"), jen.Id("before"), jen.Id("insert"), jen.Id("update")).Bool(), jen.Id("enabled").String()).Block(
			tCall("Helper"),
			jen.If(jen.Op("!").Add(queryRow(jen.Id("c").Dot("conn"), jen.Id("triggerSQL"), []jen.Code{tableIdent(), jen.Id("name")},
				jen.Op("&").Id("row"), jen.Op("&").Id("before"), jen.Op("&").Id("insert"), jen.Op("&").Id("update"), jen.Op("&").Id("enabled")))).Block(
				tCall("Fatalf", jen.Lit("%s has no trigger %s%s"), tbl, jen.Id("name"), jen.Id("missing")),
			),
			jen.Return(),
		),
		checkFunc([]string{"checkFillTrigger: the fill trigger fires before every insert and update", "of a row."}, "checkFillTrigger",
			jen.List(jen.Id("row"), jen.Id("before"), jen.Id("insert"), jen.Id("update"), jen.Id("enabled")).Op(":=").
				Id("trigger").Call(jen.Id("t"), jen.Id("c"), jen.Id("fillTrigger"), jen.Lit("")),
			jen.If(jen.Op("!").Id("row").Op("||").Op("!").Id("before").Op("||").Op("!").Id("insert").Op("||").Op("!").Id("update")).Block(
				tCall("Errorf", jen.Lit("%s: trigger %s is not BEFORE INSERT OR UPDATE FOR EACH ROW"), tbl, jen.Id("fillTrigger")),
			),
			jen.If(jen.Id("enabled").Op("==").Lit("D")).Block(
				tCall("Errorf", jen.Lit("%s: trigger %s is disabled"), tbl, jen.Id("fillTrigger")),
			),
		),
		checkFunc([]string{"checkImmutableTrigger: the immutability trigger fires before every update", "of a row and is enabled ALWAYS, on the table and on each partition."}, "checkImmutableTrigger",
			jen.List(jen.Id("row"), jen.Id("before"), jen.Id("_"), jen.Id("update"), jen.Id("enabled")).Op(":=").
				Id("trigger").Call(jen.Id("t"), jen.Id("c"), jen.Id("immutableTrigger"), jen.Lit(": the "+m.orgColumn+" immutability (phase 6) is missing")),
			jen.If(jen.Op("!").Id("row").Op("||").Op("!").Id("before").Op("||").Op("!").Id("update")).Block(
				tCall("Errorf", jen.Lit("%s: trigger %s is not BEFORE UPDATE FOR EACH ROW"), tbl, jen.Id("immutableTrigger")),
			),
			jen.If(jen.Id("enabled").Op("!=").Lit("A")).Block(
				tCall("Errorf", jen.Lit("%s: trigger %s is enabled %q, want ALWAYS (A): replication mode would skip it"), tbl, jen.Id("immutableTrigger"), jen.Id("enabled")),
			),
			jen.Comment("A partitioned table's partitions carry clones of the trigger; each"),
			jen.Comment("must fire always too."),
			sqlConst("sql", partitionTriggerSQL),
			jen.Var().Id("partitions").Index().String(),
			queryRow(jen.Id("c").Dot("conn"), jen.Id("sql"), []jen.Code{tableIdent(), jen.Id("immutableTrigger")}, jen.Op("&").Id("partitions")),
			jen.If(jen.Len(jen.Id("partitions")).Op(">").Lit(0)).Block(
				tCall("Errorf", jen.Lit("%s: partitions without trigger %s enabled ALWAYS: %s"), tbl, jen.Id("immutableTrigger"), join(jen.Id("partitions"), ", ")),
			),
		),

		checkFunc([]string{
			"checkInsertWithoutOrg copies an existing row with its owner or parent key",
			"replaced by one that names no user or parent row, and no JWT: the fill",
			"trigger has nothing to derive " + m.orgColumn + " from, so NOT NULL must reject the",
			"row. (A bare INSERT of NULL would trip over the table's other NOT NULL",
			"columns first; the copy has them all.)",
		}, "checkInsertWithoutOrg",
			noRow("has no row to copy: NOT NULL is asserted by not_null only"),
			jen.If(jen.Len(tbl.Clone().Dot("NoOrg")).Op("==").Lit(0)).Block(
				tCall("Logf", jen.Lit("%s: no value naming no owner or parent can be written for its key: NOT NULL is asserted by not_null only"), tbl),
				jen.Return(),
			),
			rollback(jen.Id("c").Dot("conn"),
				jen.Id("exec").Call(jen.Id("t"), jen.Id("tx"), jen.Lit("SELECT pg_catalog.set_config('request.jwt.claims', '', true)")),
				jen.Comment("The copied columns: those without a default (a default may fill a"),
				jen.Comment("unique key), plus the ones NoOrg replaces."),
				sqlConst("columnsSQL", insertColumnsSQL),
				jen.Var().Id("noOrg").Index().String(),
				jen.For(jen.List(jen.Id("_"), jen.Id("v")).Op(":=").Range().Add(tbl).Dot("NoOrg")).Block(
					jen.Id("noOrg").Op("=").Append(jen.Id("noOrg"), jen.Id("v").Dot("Column")),
				),
				jen.Var().Id("cols").Index().String(),
				queryRow(jen.Id("tx"), jen.Id("columnsSQL"), []jen.Code{tableIdent(), col, jen.Id("noOrg")}, jen.Op("&").Id("cols")),
				jen.Var().List(jen.Id("names"), jen.Id("values")).Index().String(),
				jen.For(jen.List(jen.Id("_"), jen.Id("col")).Op(":=").Range().Id("cols")).Block(
					jen.Id("value").Op(":=").Lit("r.").Op("+").Id("quote").Call(jen.Id("col")),
					jen.For(jen.List(jen.Id("_"), jen.Id("v")).Op(":=").Range().Add(tbl).Dot("NoOrg")).Block(
						jen.If(jen.Id("v").Dot("Column").Op("==").Id("col")).Block(
							jen.Id("value").Op("=").Id("v").Dot("SQL"),
						),
					),
					jen.Id("names").Op("=").Append(jen.Id("names"), jen.Id("quote").Call(jen.Id("col"))),
					jen.Id("values").Op("=").Append(jen.Id("values"), jen.Id("value")),
				),
				jen.Id("sql").Op(":=").Add(sprintf(
					jen.Lit("INSERT INTO %s (%s) SELECT %s FROM %s r WHERE r.tableoid = $1 AND r.ctid = $2::tid RETURNING %s::text"),
					tableIdent(), join(jen.Id("names"), ", "), join(jen.Id("values"), ", "), tableIdent(), orgQuoted())),
				jen.Var().Id("org").Op("*").String(),
				jen.Id("err").Op(":=").Id("tx").Dot("QueryRow").Call(background(), jen.Id("sql"), row().Dot("TableOID"), row().Dot("CTID")).Dot("Scan").Call(jen.Op("&").Id("org")),
				pgErrVar(),
				jen.Switch().Block(
					jen.Case(jen.Id("err").Op("==").Nil()).Block(
						tCall("Errorf", jen.Lit("%s: a row with nothing to derive %s from was inserted with %s %s; want a NOT NULL violation\n%s"),
							tbl, col, col, jen.Id("show").Call(jen.Id("org")), jen.Id("sql")),
					),
					jen.Case(asPgErr().Op("&&").Id("pgErr").Dot("Code").Op("==").Lit("23502").Op("&&").Id("pgErr").Dot("ColumnName").Op("==").Add(col)).Block(
						tCall("Logf", jen.Lit("rejected: %s"), jen.Id("pgErr").Dot("Message")),
					),
					jen.Default().Block(
						tCall("Errorf", jen.Lit("%s: inserting a row with nothing to derive %s from: got %v; want a NOT NULL violation of %s (23502)\n%s"),
							tbl, col, jen.Id("err"), col, jen.Id("sql")),
					),
				),
			),
		),
	}
}
