-- A small schema exercising every object kind the introspector reads.
CREATE SCHEMA app;
CREATE SCHEMA other;

CREATE TABLE app.users (id uuid PRIMARY KEY, email text NOT NULL);

CREATE TABLE app.orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES app.users(id) ON DELETE CASCADE,
    "order" integer NOT NULL DEFAULT 0,
    note varchar(20),
    total numeric(10,2) GENERATED ALWAYS AS ("order" * 2) STORED
);

-- composite key and a composite FK paired column by column, declared in an
-- order different from the referenced key's
CREATE TABLE app.lines (
    order_id bigint NOT NULL REFERENCES app.orders(id),
    line_no integer NOT NULL,
    sku text,
    PRIMARY KEY (order_id, line_no)
);
CREATE TABLE app."LineNotes" (
    id serial PRIMARY KEY,
    "lineNo" integer NOT NULL,
    "orderId" bigint NOT NULL,
    body text,
    CONSTRAINT "LineNotes_line_fk" FOREIGN KEY ("lineNo", "orderId")
        REFERENCES app.lines (line_no, order_id) ON DELETE SET NULL
);

-- a FK added NOT VALID and a check constraint NOT VALID
CREATE TABLE app.audit (at timestamptz NOT NULL DEFAULT now(), user_id uuid, msg text);
ALTER TABLE app.audit ADD CONSTRAINT audit_user_fk FOREIGN KEY (user_id) REFERENCES app.users(id) NOT VALID;
ALTER TABLE app.audit ADD CONSTRAINT audit_msg_check CHECK (msg IS NOT NULL) NOT VALID;
-- a check naming a system column (its column numbers hold tableoid's)
ALTER TABLE app.audit ADD CONSTRAINT audit_table_check CHECK (tableoid <> 0);

-- a partitioned table with nested partitions, a partitioned index and a
-- trigger that PostgreSQL clones onto every partition
CREATE TABLE app.events (id bigint NOT NULL, at date NOT NULL, user_id uuid REFERENCES app.users(id), PRIMARY KEY (id, at))
    PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (id);
CREATE TABLE app.events_2024_a PARTITION OF app.events_2024 DEFAULT;
CREATE TABLE app.events_2025 PARTITION OF app.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE app.events_default PARTITION OF app.events DEFAULT;
CREATE INDEX events_user_idx ON app.events (user_id);

CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER events_touch BEFORE INSERT OR UPDATE ON app.events FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE TRIGGER orders_touch BEFORE UPDATE ON app.orders FOR EACH ROW EXECUTE FUNCTION app.touch();
ALTER TABLE app.orders ENABLE ALWAYS TRIGGER orders_touch;
CREATE TRIGGER orders_stmt AFTER DELETE ON app.orders FOR EACH STATEMENT EXECUTE FUNCTION app.touch();
ALTER TABLE app.orders DISABLE TRIGGER orders_stmt;

-- row-level security
ALTER TABLE app.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.orders FORCE ROW LEVEL SECURITY;
CREATE POLICY own_orders ON app.orders FOR SELECT TO PUBLIC USING (user_id IS NOT NULL);
CREATE POLICY org_guard ON app.orders AS RESTRICTIVE FOR INSERT TO PUBLIC WITH CHECK ("order" >= 0);

-- indexes: expression, partial, unique; and one left INVALID by a failed
-- concurrent build (created by the test)
CREATE UNIQUE INDEX orders_note_key ON app.orders (lower(note)) WHERE note IS NOT NULL;
-- key columns that need quoting around an expression, a sort order and an
-- INCLUDE column (not a key)
CREATE INDEX "LineNotes_mixed_idx" ON app."LineNotes" ("orderId", lower(body), "lineNo" DESC) INCLUDE (id);
CREATE TABLE app.dupes (v int);
INSERT INTO app.dupes VALUES (1), (1);

-- not tables: a view, a materialized view, a table in another schema, and
-- a table owned by an extension
CREATE VIEW app.order_view AS SELECT id FROM app.orders;
CREATE MATERIALIZED VIEW app.order_mv AS SELECT id FROM app.orders;
-- A view over a view and a table, with the caller's rights, readable by everyone.
CREATE VIEW app.order_customers WITH (security_invoker = on) AS
  SELECT v.id, u.email FROM app.order_view v CROSS JOIN app.users u;
GRANT SELECT ON app.order_customers TO PUBLIC;
CREATE TABLE other.elsewhere (id int);
CREATE TABLE app.ext_owned (id int);
ALTER EXTENSION plpgsql ADD TABLE app.ext_owned;
