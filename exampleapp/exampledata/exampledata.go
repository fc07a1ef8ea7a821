// Package exampledata fills the example application schema (exampleapp/schema/auth.sql
// and exampleapp/schema/app.sql) with deterministic, realistic data for tests and
// benchmarks, from a handful of rows to millions.
//
// The data is generated inside the server by one set-based SQL script
// (INSERT ... SELECT FROM generate_series, see fill.sql): there are no per-row
// round trips. Values are derived from hashes of the row number and
// Options.Seed, never from random() or the clock, so the same Options give
// the same rows on the same PostgreSQL version.
//
// The data set exercises what an org migration must cope with: many users,
// several organizations, users with two memberships (one primary, or none
// primary with an age or org-id tie-break), users with no membership, rows
// whose nullable ownership column is NULL, a text ownership column holding
// ids of users that do not exist, inherited rows whose nullable parent key is
// NULL, deep and composite foreign-key chains, self references, a table
// without a primary key and a partitioned table with rows in every partition.
package exampledata

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed fill.sql
var fillSQL string

// DefaultRows is the RowsPerTable used when Options.RowsPerTable is zero.
const DefaultRows = 1000

// MinRows is the smallest RowsPerTable; smaller values are raised to it.
const MinRows = 10

// Options sizes the data. RowsPerTable is the row count of the largest tables
// (10 .. millions); the other tables get proportionally fewer rows. Users and
// Orgs default (when zero) to values derived from RowsPerTable. Seed selects
// one of many equally shaped data sets.
type Options struct {
	RowsPerTable int
	Users        int
	Orgs         int
	Seed         int64
}

// WithDefaults returns o with zero fields replaced by their defaults and
// sizes raised to their minimums, as Fill uses them.
func (o Options) WithDefaults() Options {
	if o.RowsPerTable == 0 {
		o.RowsPerTable = DefaultRows
	}
	if o.RowsPerTable < MinRows {
		o.RowsPerTable = MinRows
	}
	if o.Users == 0 {
		o.Users = clamp(o.RowsPerTable/50, 10, 100000)
	}
	if o.Users < 1 {
		o.Users = 1
	}
	if o.Orgs == 0 {
		o.Orgs = clamp(o.Users/20, 3, 10000)
	}
	if o.Orgs < 1 {
		o.Orgs = 1
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.RowsPerTable < 0:
		return fmt.Errorf("exampledata: RowsPerTable %d is negative", o.RowsPerTable)
	case o.Users < 0:
		return fmt.Errorf("exampledata: Users %d is negative", o.Users)
	case o.Orgs < 0:
		return fmt.Errorf("exampledata: Orgs %d is negative", o.Orgs)
	case o.RowsPerTable > 100_000_000:
		return fmt.Errorf("exampledata: RowsPerTable %d is above 100000000", o.RowsPerTable)
	case o.Users > 10_000_000:
		return fmt.Errorf("exampledata: Users %d is above 10000000", o.Users)
	}
	return nil
}

// Sizes returns the number of rows Fill generates for each sized table (by
// bare table name), plus "users" and "orgs". Some tables get fewer rows than
// their size because of filters (e.g. campaign_leads is bounded by the leads
// each user has); every table gets at least one row.
func Sizes(opts Options) map[string]int {
	o := opts.WithDefaults()
	n, u := o.RowsPerTable, o.Users
	at := func(div, min int) int { return max(n/div, min) }
	s := map[string]int{
		"users": u,
		"orgs":  o.Orgs,

		// largest tables
		"call_logs":    n,
		"usage_events": at(2, 10),

		"calls":               at(4, 10),
		"leads":               at(4, 10),
		"embeddings":          at(4, 10),
		"telephony_audit_log": at(4, 10),

		"knowledge_base_chunks": at(8, 5),
		"call_recordings":       at(8, 4),
		"notification_history":  at(10, 4),

		"contacts":              at(20, 4),
		"consent_records":       at(20, 4),
		"cold_call_logs":        at(20, 4),
		"credit_transactions":   at(20, 4),
		"usage_records":         at(20, 4),
		"compliance_audit_logs": at(20, 4),
		"payment_events_log":    at(20, 4),

		"knowledge_base_documents": at(40, 3),
		"payments":                 at(40, 3),
		"dnc_list":                 at(40, 5),
		"voicemail_audit_log":      at(40, 6),
		"appointments":             at(40, 3),

		"daily_lead_uploads":       at(100, 3),
		"kb_sync_log":              at(100, 5),
		"knowledge_base_changelog": at(100, 6),

		"campaigns":         at(200, 4),
		"call_lists":        at(200, 2),
		"user_active_calls": at(200, 2),
		"knowledge_base":    at(400, 2),

		// per user
		"agent_configurations":    u,
		"user_phone_numbers":      u,
		"credential_tokens":       u,
		"phone_assistants":        max(u/2, 1),
		"user_twilio_subaccounts": max(u/2, 1),
		"customer_twilio_keys":    max(u/4, 7),
		"notification_templates":  5 + max(u/10, 2),
	}
	// Each campaign lists up to this many leads of its owner.
	s["campaign_leads_per"] = clamp(s["leads"]/u, 1, 50)
	return s
}

var placeholder = regexp.MustCompile(`\{\{(\w+)\}\}`)

// render substitutes the sizes and the seed into fill.sql.
func render(o Options) (string, error) {
	vals := Sizes(o)
	var missing []string
	out := placeholder.ReplaceAllStringFunc(fillSQL, func(m string) string {
		name := m[2 : len(m)-2]
		if name == "seed" {
			return strconv.FormatInt(o.Seed, 10)
		}
		v, ok := vals[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return strconv.Itoa(v)
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("exampledata: fill.sql uses unknown sizes %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// Fill inserts the example data into a database that has exampleapp/schema/auth.sql and
// exampleapp/schema/app.sql loaded and no data yet. It runs as one multi-statement
// query, hence in one transaction (or inside the caller's), and ends with
// ANALYZE so that row estimates are right at once.
//
// When the role may (a superuser may), Fill loads with
// session_replication_role = replica: foreign keys are not checked row by
// row and no trigger fires, which makes it several times faster. The data is
// consistent by construction, and parents are written before children, so a
// role without that privilege gets the same rows with every check on. It
// follows that triggers added by a migration (e.g. warden's org_id fill
// trigger) do not fire for a superuser's Fill. The settings Fill changes are
// restored before it returns.
//
// At RowsPerTable 1,000,000 (about 3.3 million rows in all, 0.8 GB) Fill takes
// about half a minute on two cores with PostgreSQL's default settings.
func Fill(ctx context.Context, conn *pgx.Conn, opts Options) error {
	if err := opts.validate(); err != nil {
		return err
	}
	o := opts.WithDefaults()
	script, err := render(o)
	if err != nil {
		return err
	}
	var used bool
	err = conn.QueryRow(ctx, `select exists (select 1 from auth.users)`).Scan(&used)
	if err != nil {
		return fmt.Errorf("exampledata: is the example schema loaded (exampleapp/schema/auth.sql, schema/app.sql)? %w", err)
	}
	if used {
		return errors.New("exampledata: auth.users already has rows: Fill needs a freshly loaded example schema")
	}
	// No arguments: pgx sends the script with the simple query protocol, as
	// one implicit transaction.
	if _, err := conn.Exec(ctx, script); err != nil {
		return fmt.Errorf("exampledata: fill (rows per table %d, users %d, orgs %d, seed %d): %w",
			o.RowsPerTable, o.Users, o.Orgs, o.Seed, err)
	}
	return nil
}

func clamp(v, lo, hi int) int {
	return min(max(v, lo), hi)
}
