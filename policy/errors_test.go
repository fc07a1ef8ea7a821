package policy

import (
	"errors"
	"strings"
	"testing"
)

// head is the start of a valid policy; most cases append or replace keys.
const head = "version: 1\nschemas: [public]\n"

// tail completes head into a valid policy.
const tail = "tenant:\n  table: organizations\n  default_org: a0000000-0000-0000-0000-000000000001\nmigrations:\n  version: 20250110000000\n"

// errorCases are malformed policies with the whole expected message:
// position, key path, offending value and the advice, since those are the
// product. FuzzParse also starts from them.
var errorCases = []struct {
	name, yaml, want string
}{
	// File-level problems.
	{"empty", "", "p.yaml:1:1: the policy file is empty; it needs at least version, schemas, tenant and migrations (see the Policy reference in warden's README, or draft one with warden init)"},
	{"comments only", "# nothing yet\n\n", "p.yaml:1:1: the policy file is empty; it needs at least version, schemas, tenant and migrations (see the Policy reference in warden's README, or draft one with warden init)"},
	{"syntax error", head + "tenant: {table: x\n", `p.yaml:2: invalid YAML: did not find expected ',' or '}'`},
	{"syntax error first line", "version: 1: 2\n", `p.yaml:1: invalid YAML: mapping values are not allowed in this context`},
	{"tab indentation", head + "tenant:\n\ttable: x\n", `p.yaml:4: invalid YAML: found character that cannot start any token`},
	{"invalid utf8", head + "exclude: [caf\xe9]\n", `p.yaml:3:14: byte 0xe9 is not valid UTF-8; save the policy as UTF-8`},
	{"control char", head + "exclude: [a\x01]\n", `p.yaml:3:12: character U+0001 is not allowed in YAML; remove it`},
	{"two documents", head + tail + "---\nversion: 1\n", `p.yaml:8:1: a second YAML document starts here; a policy is a single document: remove the '---' separator and merge or delete what follows`},
	{"document without content", "---\n# todo\n", `p.yaml:3:1: the policy document is empty; it needs at least version, schemas, tenant and migrations (see the Policy reference in warden's README, or draft one with warden init)`},
	{"tag on wrong kind", "--- !!map\n", `p.yaml:1:5: tag !!map is not supported here; remove it`},
	{"top level list", "- version: 1\n", `p.yaml:1:1: the policy must be a mapping of keys (version: 1, schemas: ...), not a list`},
	{"top level scalar", "version\n", `p.yaml:1:1: the policy must be a mapping of keys (version: 1, schemas: ...), not the string "version"`},
	{"anchor", head + tail + "exclude: &ex [public.a]\nglobal: *ex\n", `p.yaml:8:10: exclude: anchor &ex: anchors and aliases are not supported in a policy; write the value out`},
	{"unknown alias", head + tail + "global: *ex\n", `p.yaml:8:9: alias *ex refers to no anchor; anchors and aliases are not supported in a policy: write the value out`},
	{"custom tag", head + tail + "exclude: !tables [a]\n", `p.yaml:8:10: exclude: tag !tables is not supported here; remove it`},
	{"date-like version", head + strings.Replace(tail, "20250110000000", "2026-01-01", 1), `p.yaml:7:12: migrations.version: 2026-01-01 reads as a date in YAML; quote it ("2026-01-01"), and note versions are 14 digits (YYYYMMDDhhmmss), e.g. "20260101000000"`},

	// Keys.
	{"unknown key typo", "version: 1\nshemas: [public]\n" + tail, `p.yaml:2:1: shemas: unknown key "shemas" (did you mean "schemas"?); allowed keys: version, schemas, schema_files, tenant, request_context, users, ownership, membership, scope, exclude, global, tables, critical, unclassified, backfill, migrations, distribute`},
	{"unknown key nested", head + "tenant:\n  table: organizations\n  defualt_org: a0000000-0000-0000-0000-000000000001\nmigrations:\n  version: 20250110000000\n", `p.yaml:5:3: tenant.defualt_org: unknown key "defualt_org" (did you mean "default_org"?); allowed keys: table, key, column, type, on_delete, default_org, default_org_name, default_org_values, default_org_exists`},
	{"misplaced key", head + tail + "batch_size: 10\n", `p.yaml:8:1: batch_size: unknown key "batch_size" here (batch_size is a key of backfill); allowed keys: version, schemas, schema_files, tenant, request_context, users, ownership, membership, scope, exclude, global, tables, critical, unclassified, backfill, migrations, distribute`},
	{"unknown key no suggestion", head + tail + "frobnicate: true\n", `p.yaml:8:1: frobnicate: unknown key "frobnicate"; allowed keys: version, schemas, schema_files, tenant, request_context, users, ownership, membership, scope, exclude, global, tables, critical, unclassified, backfill, migrations, distribute`},
	{"distribute target", head + tail + "distribute:\n  target: spark\n", `p.yaml:9:11: distribute.target: "spark" is not one of citus`},
	{"distribute without target", head + tail + "distribute:\n  excluded: reference\n", `p.yaml:9:3: distribute.target: required key "target" is missing from distribute; add it (see the Policy reference in warden's README, or draft one with warden init)`},
	{"distribute excluded", head + tail + "distribute:\n  target: citus\n  excluded: owner\n", `p.yaml:10:13: distribute.excluded: "owner" is not one of local, reference, user`},
	{"duplicate key", head + "schemas: [app]\n" + tail, `p.yaml:3:1: schemas: duplicate key (first at 2:1); remove one of them`},
	{"duplicate nested key", head + "tenant:\n  table: organizations\n  table: orgs\n  default_org: a0000000-0000-0000-0000-000000000001\nmigrations:\n  version: 20250110000000\n", `p.yaml:5:3: tenant.table: duplicate key (first at 4:3); remove one of them`},
	{"non-string key", head + tail + "1: x\n", `p.yaml:8:1: keys must be plain names, not the integer 1`},
	{"missing version", "schemas: [public]\n" + tail, `p.yaml:1:1: version: required key "version" is missing from the top level; add it (see the Policy reference in warden's README, or draft one with warden init)`},
	{"missing schemas", "version: 1\n" + tail, `p.yaml:1:1: schemas: required key "schemas" is missing from the top level; add it (see the Policy reference in warden's README, or draft one with warden init)`},
	{"missing tenant", head + "migrations:\n  version: 20250110000000\n", `p.yaml:1:1: tenant: required key "tenant" is missing from the top level; add it (see the Policy reference in warden's README, or draft one with warden init)`},
	{"missing tenant.table", head + "tenant:\n  default_org: a0000000-0000-0000-0000-000000000001\nmigrations:\n  version: 20250110000000\n", `p.yaml:4:3: tenant.table: required key "table" is missing from tenant; add it (see the Policy reference in warden's README, or draft one with warden init)`},
	{"missing tenant.default_org", head + "tenant:\n  table: organizations\nmigrations:\n  version: 20250110000000\n", `p.yaml:4:3: tenant.default_org: required key "default_org" is missing from tenant; add it (see the Policy reference in warden's README, or draft one with warden init)`},
	{"missing migrations.version", head + "tenant:\n  table: organizations\n  default_org: a0000000-0000-0000-0000-000000000001\nmigrations:\n  format: goose\n", `p.yaml:7:3: migrations.version: required key "version" is missing from migrations; add it (see the Policy reference in warden's README, or draft one with warden init)`},

	// Types.
	{"string for list", "version: 1\nschemas: public\n" + tail, `p.yaml:2:10: schemas: expected a list, got the string "public"; write [public] for a one-element list`},
	{"map for scalar", head + "tenant:\n  table: {name: organizations}\n  default_org: a0000000-0000-0000-0000-000000000001\nmigrations:\n  version: 20250110000000\n", `p.yaml:4:10: tenant.table: expected a table name such as public.calls, got a mapping`},
	{"list for map", head + tail + "backfill: [1000]\n", `p.yaml:8:11: backfill: expected a mapping, got a list`},
	{"null list", head + tail + "exclude:\n", `p.yaml:8:9: exclude: expected a list, got no value; write [] for an empty list or remove the key`},
	{"null mapping", head + tail + "users:\n", `p.yaml:8:7: users: expected a mapping, got no value; give a value or remove the key`},
	{"batch_size not integer", head + tail + "backfill:\n  batch_size: 10.5\n", `p.yaml:9:15: backfill.batch_size: expected an integer, got the number 10.5`},
	{"batch_size string", head + tail + "backfill:\n  batch_size: \"1000\"\n", `p.yaml:9:15: backfill.batch_size: expected an integer, got the string "1000"`},
	{"integer for string", head + tail + "exclude: [2024]\n", `p.yaml:8:11: exclude[0]: expected a table name such as public.calls, got the integer 2024; quote it ("2024") if you mean the text`},
	{"require_fk not bool", head + tail + "ownership:\n  - column: owner_id\n    require_fk: yes\n", `p.yaml:10:17: ownership[0].require_fk: expected true or false, got the string "yes"`},
	{"version string", "version: \"1\"\nschemas: [public]\n" + tail, `p.yaml:1:10: version: expected an integer, got the string "1"`},

	// Values.
	{"version 2", "version: 2\nschemas: [public]\n" + tail, `p.yaml:1:10: version: unsupported version 2; this warden reads version 1`},
	{"bad uuid", head + "tenant:\n  table: organizations\n  default_org: abc\nmigrations:\n  version: 20250110000000\n", `p.yaml:5:16: tenant.default_org: "abc" is not a UUID; write 8-4-12 hex digits with dashes, e.g. a0000000-0000-0000-0000-000000000001`},
	{"uuid braces", head + "tenant:\n  table: organizations\n  default_org: \"{a0000000-0000-0000-0000-000000000001}\"\nmigrations:\n  version: 20250110000000\n", `p.yaml:5:16: tenant.default_org: "{a0000000-0000-0000-0000-000000000001}" is not a UUID; write 8-4-12 hex digits with dashes, e.g. a0000000-0000-0000-0000-000000000001`},
	{"uuid no dashes", head + "tenant:\n  table: organizations\n  default_org: a0000000000000000000000000000001\nmigrations:\n  version: 20250110000000\n", `p.yaml:5:16: tenant.default_org: "a0000000000000000000000000000001" is not a UUID; write 8-4-12 hex digits with dashes, e.g. a0000000-0000-0000-0000-000000000001`},
	{"nil uuid", head + "tenant:\n  table: organizations\n  default_org: 00000000-0000-0000-0000-000000000000\nmigrations:\n  version: 20250110000000\n", `p.yaml:5:16: tenant.default_org: the nil UUID cannot be the default org; choose a real id`},
	{"on_delete case", head + "tenant:\n  table: organizations\n  on_delete: CASCADE\n  default_org: a0000000-0000-0000-0000-000000000001\nmigrations:\n  version: 20250110000000\n", `p.yaml:5:14: tenant.on_delete: "CASCADE" is not one of cascade, restrict, no action, set null (did you mean "cascade"?)`},
	{"on_delete unknown", head + "tenant:\n  table: organizations\n  on_delete: set default\n  default_org: a0000000-0000-0000-0000-000000000001\nmigrations:\n  version: 20250110000000\n", `p.yaml:5:14: tenant.on_delete: "set default" is not one of cascade, restrict, no action, set null`},
	{"tenant type", head + "tenant:\n  table: organizations\n  type: serial\n  default_org: 1\nmigrations:\n  version: 20250110000000\n", `p.yaml:5:9: tenant.type: "serial" is not one of uuid, text, bigint, integer`},
	{"default org not of the type", head + "tenant:\n  table: organizations\n  type: bigint\n  default_org: a0000000-0000-0000-0000-000000000001\nmigrations:\n  version: 20250110000000\n", `p.yaml:6:16: tenant.default_org: "a0000000-0000-0000-0000-000000000001" is not a whole number in bigint's range (tenant.type is bigint); write one such as 1`},
	{"default org type after it", head + "tenant:\n  table: organizations\n  default_org: 3000000000\n  type: integer\nmigrations:\n  version: 20250110000000\n", `p.yaml:5:16: tenant.default_org: "3000000000" is not a whole number in integer's range (tenant.type is integer); write one such as 1`},
	{"default org zero", head + "tenant:\n  table: organizations\n  type: bigint\n  default_org: 0\nmigrations:\n  version: 20250110000000\n", `p.yaml:6:16: tenant.default_org: 0 cannot be the default org; choose a real id`},
	{"default org value is the key", head + "tenant:\n  table: organizations\n  default_org: a0000000-0000-0000-0000-000000000001\n  default_org_values: {id: x}\nmigrations:\n  version: 20250110000000\n", `p.yaml:6:24: tenant.default_org_values: id is the tenant key; its value is tenant.default_org`},
	{"default org value null", head + "tenant:\n  table: organizations\n  default_org: a0000000-0000-0000-0000-000000000001\n  default_org_values: {slug: null}\nmigrations:\n  version: 20250110000000\n", `p.yaml:6:30: tenant.default_org_values.slug: expected a value such as 'Default' or 42, got no value; give a value or remove the key`},
	{"context kind", head + tail + "request_context:\n  kind: cookie\n", `p.yaml:9:9: request_context.kind: "cookie" is not one of supabase, jwt, session`},
	{"context claim for session", head + tail + "request_context:\n  kind: session\n  claim: org_id\n", `p.yaml:10:10: request_context.claim: kind session reads a setting, not a JWT claim; use setting`},
	{"context setting for jwt", head + tail + "request_context:\n  kind: jwt\n  setting: app.org_id\n", `p.yaml:10:12: request_context.setting: setting is for kind session; kind jwt reads the JWT claims`},
	{"user_setting on a jwt context", head + tail + "request_context:\n  kind: jwt\n  user_setting: app.user_id\n", `p.yaml:10:17: request_context.user_setting: user_setting is for kind session; kind jwt reads the user from the JWT's sub claim`},
	{"user_setting is the org setting", head + tail + "request_context:\n  kind: session\n  user_setting: app.org_id\n", `p.yaml:10:17: request_context.user_setting: user_setting is the org's setting too; the user's id needs a setting of its own`},
	{"context bad setting", head + tail + "request_context:\n  kind: session\n  setting: org_id\n", `p.yaml:10:12: request_context.setting: "org_id" is not a custom setting name; write prefix.name in letters, digits and underscores, e.g. app.org_id`},
	{"context bad claim", head + tail + "request_context:\n  kind: jwt\n  claim: app_metadata..org\n", `p.yaml:10:10: request_context.claim: "app_metadata..org" is not a claim path; write keys joined by dots, e.g. app_metadata.org_id, or a list of keys`},
	{"context public role", head + tail + "request_context:\n  kind: session\n  roles: [app, PUBLIC]\n", `p.yaml:10:16: request_context.roles[1]: public is every role; leave roles out for that`},
	{"unclassified", head + tail + "unclassified: ignore\n", `p.yaml:8:15: unclassified: "ignore" is not one of error, warn`},
	{"format", head + "tenant:\n  table: organizations\n  default_org: a0000000-0000-0000-0000-000000000001\nmigrations:\n  format: golang_migrate\n  version: 20250110000000\n", `p.yaml:7:11: migrations.format: "golang_migrate" is not one of supabase, goose, golang-migrate, psql (did you mean "golang-migrate"?)`},
	{"migrations.version short", head + "tenant:\n  table: organizations\n  default_org: a0000000-0000-0000-0000-000000000001\nmigrations:\n  version: 2025011000000\n", `p.yaml:7:12: migrations.version: "2025011000000" is not a 14-digit version; write a timestamp-like base such as 20250110000000`},
	{"bad duration", head + tail + "backfill:\n  pause: 2 seconds\n", `p.yaml:9:10: backfill.pause: "2 seconds" is not a duration; write a Go duration such as 500ms, 2s or 1m`},
	{"duration out of range", head + tail + "backfill:\n  pause: 2m\n", `p.yaml:9:10: backfill.pause: 2m is out of range; use 0s to 1m`},
	{"negative duration", head + tail + "backfill:\n  pause: -1s\n", `p.yaml:9:10: backfill.pause: -1s is out of range; use 0s to 1m`},
	{"lock_timeout zero", head + "tenant:\n  table: organizations\n  default_org: a0000000-0000-0000-0000-000000000001\nmigrations:\n  version: 20250110000000\n  lock_timeout: 0s\n", `p.yaml:8:17: migrations.lock_timeout: 0s is out of range; use 1ms to 1m`},
	{"lock_timeout sub-ms", head + "tenant:\n  table: organizations\n  default_org: a0000000-0000-0000-0000-000000000001\nmigrations:\n  version: 20250110000000\n  lock_timeout: 1500us\n", `p.yaml:8:17: migrations.lock_timeout: 1500us is not a whole number of milliseconds, which is PostgreSQL's unit for timeouts`},
	{"batch_size zero", head + tail + "backfill:\n  batch_size: 0\n", `p.yaml:9:15: backfill.batch_size: batch size 0 is out of range; use 1 to 1000000`},
	{"batch_size too big", head + tail + "backfill:\n  batch_size: 1000001\n", `p.yaml:9:15: backfill.batch_size: batch size 1000001 is out of range; use 1 to 1000000`},
	{"org_index unknown", head + tail + "backfill:\n  org_index: later\n", `p.yaml:9:14: backfill.org_index: "later" is not one of before_backfill, after_backfill`},
	{"ownership without column", head + tail + "ownership:\n  - require_fk: false\n", `p.yaml:9:5: ownership[0].column: required key "column" is missing from ownership[0]; add it (see the Policy reference in warden's README, or draft one with warden init)`},
	{"ownership scalar entry", head + tail + "ownership:\n  - owner_id\n", `p.yaml:9:5: ownership[0]: expected a mapping such as {column: user_id}, got the string "owner_id"`},
	{"ownership duplicate", head + tail + "ownership:\n  - column: owner_id\n  - column: OWNER_ID\n", `p.yaml:10:13: ownership[1].column: column owner_id is listed twice (first at 9:13); remove one`},
	{"ownership empty", head + tail + "ownership: []\n", `p.yaml:8:12: ownership: the list is empty; list at least one column, or remove the key for the default [{column: user_id}]`},
	{"ownership is tenant column", head + tail + "ownership:\n  - column: org_id\n", `p.yaml:9:5: ownership[0].column: org_id is the tenant column (tenant.column); an ownership column holds the owning user`},
	{"schemas empty", "version: 1\nschemas: []\n" + tail, `p.yaml:2:10: schemas: the list is empty; list the schemas whose tables warden classifies, e.g. [public]`},
	{"schemas duplicate", "version: 1\nschemas: [public, Public]\n" + tail, `p.yaml:2:19: schemas[1]: schema public is listed twice (first at 2:11); remove one`},
	{"schema_files missing", head + tail + "schema_files: [testdata/schema/nope.sql]\n", `p.yaml:8:16: schema_files[0]: schema file "testdata/schema/nope.sql" not found (looked for testdata/schema/nope.sql); paths are relative to the policy file's directory`},
	{"schema_files absolute", head + tail + "schema_files: [/etc/passwd]\n", `p.yaml:8:16: schema_files[0]: "/etc/passwd" is absolute; write the path relative to the policy file's directory`},
	{"schema_files directory", head + tail + "schema_files: [testdata/schema]\n", `p.yaml:8:16: schema_files[0]: schema file "testdata/schema" is not a regular file`},
	{"schema_files duplicate", head + tail + "schema_files: [testdata/schema/app.sql, ./testdata/schema/app.sql]\n", `p.yaml:8:41: schema_files[1]: "./testdata/schema/app.sql" is listed twice (first at 8:16); loading it twice would fail`},
	{"membership same column twice", head + tail + "membership:\n  table: organization_members\n  user_column: user_id\n  org_column: user_id\n  order_column: created_at\n", `p.yaml:11:15: membership.org_column: column user_id is also membership.user_column; each membership column has its own role`},

	// Identifiers.
	{"identifier too long", head + tail + "exclude: [" + strings.Repeat("x", 64) + "]\n", `p.yaml:8:11: exclude[0]: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" is 64 bytes long; PostgreSQL truncates names to 63 bytes`},
	{"identifier empty", head + tail + "exclude: [\"\"]\n", `p.yaml:8:11: exclude[0]: the name is empty`},
	{"identifier empty part", head + tail + "exclude: [public.]\n", `p.yaml:8:11: exclude[0]: "public." has an empty name part`},
	{"identifier space", head + tail + "exclude: [public.lead scores]\n", `p.yaml:8:11: exclude[0]: "public.lead scores": unexpected ' ' in an unquoted name; double-quote names with upper case, spaces or other characters, as in SQL (e.g. public."Lead Scores")`},
	{"identifier unterminated quote", head + tail + "exclude: ['public.\"Lead']\n", `p.yaml:8:11: exclude[0]: "public.\"Lead" has an unterminated quoted identifier`},
	{"identifier three parts", head + tail + "exclude: [db.public.calls]\n", `p.yaml:8:11: exclude[0]: "db.public.calls" has 3 dot-separated parts: want schema.table or a bare table name (double-quote a name that contains a dot)`},
	{"identifier empty quotes", head + tail + "exclude: ['public.\"\"']\n", `p.yaml:8:11: exclude[0]: "public.\"\"" has a zero-length quoted identifier`},
	{"identifier starts with digit", head + tail + "exclude: [public.1calls]\n", `p.yaml:8:11: exclude[0]: "public.1calls": unexpected '1' in an unquoted name; double-quote names with upper case, spaces or other characters, as in SQL (e.g. public."Lead Scores")`},
	{"identifier NUL", head + tail + "exclude: [\"public.\\\"a\\0b\\\"\"]\n", "p.yaml:8:11: exclude[0]: \"public.\\\"a\\x00b\\\"\" contains a control character"},

	// Decisions across keys.
	{"excluded and global", head + tail + "exclude: [public.plans]\nglobal:\n  - plans\n", `p.yaml:10:5: global[0]: public.plans is both global and excluded (exclude[0] at 8:11); a table gets one decision`},
	{"scoped and excluded", head + tail + "scope: [public.calls]\nexclude:\n  - calls\n", `p.yaml:10:5: exclude[0]: public.calls is in scope (scope[0] at 8:9) and also listed under exclude; a table gets one decision`},
	{"scope listed twice", head + tail + "scope: [calls, public.calls]\n", `p.yaml:8:16: scope[1]: public.calls is listed twice (first at 8:9 as scope[0]); remove one`},
	{"excluded and via", head + tail + "exclude: [campaign_leads]\ntables:\n  public.campaign_leads:\n    via: campaigns\n", `p.yaml:10:3: tables[public.campaign_leads]: public.campaign_leads is already excluded (exclude[0] at 8:11); a table gets one decision: remove one of them`},
	{"excluded and class", head + tail + "exclude: [campaign_leads]\ntables:\n  campaign_leads:\n    class: direct\n", `p.yaml:10:3: tables[campaign_leads]: public.campaign_leads is already excluded (exclude[0] at 8:11); a table gets one decision: remove one of them`},
	{"listed twice", head + tail + "exclude:\n  - public.user_credits\n  - user_credits\n", `p.yaml:10:5: exclude[1]: public.user_credits is listed twice (first at 9:5 as exclude[0]); remove one`},
	{"critical listed twice", head + tail + "critical: [calls, calls]\n", `p.yaml:8:19: critical[1]: public.calls is listed twice (first at 8:12 as critical[0]); remove one`},
	{"override twice after qualifying", head + tail + "tables:\n  calls:\n    class: direct\n  public.calls:\n    class: global\n", `p.yaml:11:3: tables[public.calls]: public.calls already has an override (tables[calls] at 9:3); merge them`},
	{"via and class", head + tail + "tables:\n  calls:\n    via: campaigns\n    class: inherited\n", `p.yaml:11:12: tables[calls].class: an override takes via or class, not both (the other is at 10:10); via already implies inherited`},
	{"empty override", head + tail + "tables:\n  calls: {}\n", `p.yaml:9:10: tables[calls]: an override needs org_from: <column or parent>, via: <parent table>, class: excluded|global|direct|inherited, when_null: default_org or require_fk: true|false`},
	{"org_from and via", head + tail + "tables:\n  calls:\n    via: campaigns\n    org_from: user_id\n", `p.yaml:11:15: tables[calls].org_from: org_from names the sources itself; drop the via or class (at 10:10)`},
	{"org_from empty", head + tail + "tables:\n  calls:\n    org_from: []\n", `p.yaml:10:15: tables[calls].org_from: the list is empty; name the column or parent the rows take their org from`},
	{"org_from twice", head + tail + "tables:\n  calls:\n    org_from: [user_id, user_id]\n", `p.yaml:10:25: tables[calls].org_from[1]: user_id is listed twice (first at 10:16)`},
	{"null_parent and when_null", head + tail + "tables:\n  calls:\n    null_parent: default_org\n    when_null: default_org\n", `p.yaml:11:16: tables[calls].when_null: null_parent and when_null are one setting (the other is at 10:18); keep one`},
	{"when_null value", head + tail + "tables:\n  calls:\n    when_null: default\n", `p.yaml:10:16: tables[calls].when_null: "default" is not one of default_org`},
	{"bad class", head + tail + "tables:\n  calls:\n    class: exclude\n", `p.yaml:10:12: tables[calls].class: "exclude" is not one of excluded, global, direct, inherited (did you mean "excluded"?)`},
	{"via self", head + tail + "tables:\n  calls:\n    via: public.calls\n", `p.yaml:10:10: tables[calls].via: via names the table itself; name the FK parent public.calls inherits its org from`},
	{"via excluded parent", head + tail + "exclude: [campaigns]\ntables:\n  calls:\n    via: campaigns\n", `p.yaml:11:10: tables[calls].via: the parent public.campaigns is excluded (exclude[0] at 8:11), so it has no org_id to inherit; choose a scoped parent`},
	{"via global override parent", head + tail + "tables:\n  plans:\n    class: global\n  calls:\n    via: plans\n", `p.yaml:12:10: tables[calls].via: the parent public.plans is global (tables[plans].class), so it has no org_id to inherit; choose a scoped parent`},
	{"table outside schemas", head + tail + "exclude: [billing.invoices]\n", `p.yaml:8:11: exclude[0]: billing.invoices is in schema billing, which is not in schemas [public]; add its schema to schemas or remove the entry`},
	{"tenant outside schemas", head + "tenant:\n  table: app.organizations\n  default_org: a0000000-0000-0000-0000-000000000001\nmigrations:\n  version: 20250110000000\n", `p.yaml:4:10: tenant.table: app.organizations is in schema app, which is not in schemas [public]; the tenant table must be in a governed schema: add its schema to schemas`},
	{"member value for the user column", head + tail + "membership:\n  table: members\n  personal_orgs: true\n  member_values: {user_id: 1}\n", `p.yaml:11:19: membership.member_values: user_id is the membership's user or org column; warden fills it`},
	{"personal orgs not a boolean", head + tail + "membership:\n  table: members\n  personal_orgs: sometimes\n", `p.yaml:10:18: membership.personal_orgs: expected true or false, got the string "sometimes"`},
	{"membership outside schemas", head + tail + "membership:\n  table: app.members\n  order_column: created_at\n", `p.yaml:9:10: membership.table: app.members is in schema app, which is not in schemas [public]; the membership table must be in a governed schema: add its schema to schemas`},
	{"tenant excluded", head + tail + "exclude: [organizations]\n", `p.yaml:8:11: exclude[0]: public.organizations is the tenant table (tenant.table at 4:10); a tenant root takes no other decision`},
	{"membership is tenant", head + tail + "membership:\n  table: organizations\n  order_column: created_at\n", `p.yaml:9:10: membership.table: the membership table cannot be the tenant table (tenant.table at 4:10)`},
	{"users is tenant", head + tail + "users:\n  table: organizations\n", `p.yaml:9:10: users.table: the users table public.organizations cannot also be the tenant table (tenant.table at 4:10)`},
	{"membership excluded", head + tail + "membership:\n  table: members\n  order_column: created_at\nexclude: [members]\n", `p.yaml:11:11: exclude[0]: public.members is the membership table (membership.table at 9:10); a tenant root takes no other decision`},
	{"users table outside schemas may be listed", head + tail + "exclude: [auth.users, auth.sessions]\n", `p.yaml:8:23: exclude[1]: auth.sessions is in schema auth, which is not in schemas [public]; add its schema to schemas or remove the entry`},
}

func TestErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("p.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded, want error %q; got %+v", tc.want, p)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is %T, want *Error", err, err)
			}
			if e.Pos.Line <= 0 {
				t.Errorf("error has no line: %v", err)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}

// TestDistributeDecodes: the distribute section's defaults and values, and
// its absence, which keeps one node.
func TestDistributeDecodes(t *testing.T) {
	for _, c := range []struct {
		yaml string
		want *Distribute
	}{
		{"", nil},
		{"distribute:\n  target: citus\n", &Distribute{Target: DistributeCitus, Excluded: ExcludedLocal}},
		{"distribute:\n  target: citus\n  excluded: reference\n", &Distribute{Target: DistributeCitus, Excluded: ExcludedReference}},
		{"distribute:\n  target: citus\n  excluded: user\n", &Distribute{Target: DistributeCitus, Excluded: ExcludedUser}},
	} {
		p, err := Parse("p.yaml", []byte(head+tail+c.yaml))
		if err != nil {
			t.Fatalf("%q: %v", c.yaml, err)
		}
		if p.Distribute != nil {
			p.Distribute.Pos = Pos{}
		}
		if (p.Distribute == nil) != (c.want == nil) || p.Distribute != nil && *p.Distribute != *c.want {
			t.Errorf("%q: got %+v, want %+v", c.yaml, p.Distribute, c.want)
		}
	}
}
