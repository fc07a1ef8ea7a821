-- internal/exampledata/fill.sql: fills schema/app.sql with deterministic data.
--
-- Rendered by Fill: every double-braced name is replaced by an integer (sizes and the
-- seed), then the script runs as one multi-statement simple query, i.e. in one
-- implicit transaction. Everything is set-based (INSERT ... SELECT FROM
-- generate_series); nothing depends on random() or the clock.
--
-- Conventions
--   pg_temp.id(tag, n)   uuid of row n of a table (hash of seed, tag, n)
--   pg_temp.r(n, salt)   deterministic pseudo-random integer 0 .. 2^31-1
--   pg_temp.ts(n, salt)  deterministic timestamp in 2024 .. 2025
--   pg_temp.pick(n, salt, array)  deterministic element of array
--   pg_temp.owner(n)     user id owning row n of a direct table: users are
--                        assigned round robin, so row n of every direct table
--                        belongs to user 1 + (n-1) % users, which keeps cross
--                        references (call -> lead, campaign -> lead) within
--                        one user.
--   users with u % 10 = 0 have no membership (orphans for the backfill).

-- Session-local helpers (pg_temp), inlined by the planner. hashint8extended
-- is PostgreSQL's own 64-bit hash: fast, and stable for a given server
-- version and byte order.
create or replace function pg_temp.id(tag text, n bigint) returns uuid
  language sql immutable as
$$ select encode(int8send(hashint8extended(n, hashtext(tag) # ({{seed}})::bigint))
              || int8send(hashint8extended(n, hashtext(tag || '/') # ({{seed}})::bigint)), 'hex')::uuid $$;

create or replace function pg_temp.r(n bigint, salt integer) returns bigint
  language sql immutable as
$$ select hashint8extended(n, ({{seed}})::bigint # (salt::bigint * 1000003)) & 2147483647 $$;

-- 2024-01-01 00:00:00+00 plus up to two years.
create or replace function pg_temp.ts(n bigint, salt integer) returns timestamptz
  language sql immutable as
$$ select to_timestamp(1704067200 + pg_temp.r(n, salt) % (730 * 86400)) $$;

create or replace function pg_temp.pick(n bigint, salt integer, a text[]) returns text
  language sql immutable as
$$ select a[1 + pg_temp.r(n, salt) % cardinality(a)] $$;

create or replace function pg_temp.owner(n bigint) returns uuid
  language sql immutable as
$$ select pg_temp.id('user', 1 + (n - 1) % {{users}}) $$;

-- Session settings for the load, each transaction-local and restored at the
-- end of the script (in case the caller runs Fill inside a transaction).
-- session_replication_role = replica skips foreign-key and other triggers when
-- the role may set it (superuser, or GRANT SET ON PARAMETER): the data is
-- consistent by construction, and Fill writes parents before children so it
-- also loads with every check on.
select set_config('exampledata.saved_replication_role', current_setting('session_replication_role'), true),
       set_config('exampledata.saved_work_mem', current_setting('work_mem'), true),
       set_config('exampledata.saved_statistics_target', current_setting('default_statistics_target'), true),
       set_config('work_mem', '64MB', true);
do $$
begin
  perform set_config('session_replication_role', 'replica', true);
exception
  when insufficient_privilege then
    null;
end
$$;

-- Users, organizations, memberships --------------------------------------------
insert into auth.users (
  instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  last_sign_in_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at
)
select
  '00000000-0000-0000-0000-000000000000',
  pg_temp.id('user', u),
  'authenticated',
  'authenticated',
  'user' || u || '@example.com',
  '$2a$10$' || md5('pw' || u) || md5('salt' || u),
  pg_temp.ts(u, 1) + interval '10 minutes',
  pg_temp.ts(u, 1) + make_interval(days => (pg_temp.r(u, 2) % 300)::int),
  jsonb_build_object('provider', 'email', 'providers', jsonb_build_array('email')),
  jsonb_build_object(
    'full_name', pg_temp.pick(u, 3, array['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Ken', 'Frances', 'Donald'])
                 || ' ' || pg_temp.pick(u, 4, array['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Thompson', 'Allen', 'Knuth'])),
  pg_temp.ts(u, 1),
  pg_temp.ts(u, 1) + interval '10 minutes'
from generate_series(1, {{users}}) u;

insert into public.organizations (id, name, slug, billing_email, settings, created_at, updated_at)
select
  pg_temp.id('org', o),
  pg_temp.pick(o, 10, array['Acme', 'Northwind', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark', 'Wayne'])
    || ' ' || pg_temp.pick(o, 11, array['Dialers', 'Voice', 'Sales', 'Health', 'Realty', 'Insurance', 'Solar', 'Support'])
    || ' ' || o,
  'org-' || o,
  'billing+' || o || '@example.com',
  jsonb_build_object('timezone', pg_temp.pick(o, 12, array['UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Tokyo'])),
  timestamptz '2023-12-01 00:00:00+00' + make_interval(hours => o::int),
  timestamptz '2023-12-01 00:00:00+00' + make_interval(hours => o::int)
from generate_series(1, {{orgs}}) o;

-- First membership of every user but each tenth; the first user of an org
-- owns it. Single members are primary unless u % 3 = 0.
insert into public.organization_members (org_id, user_id, role, is_primary, created_at)
select
  pg_temp.id('org', 1 + (u - 1) % {{orgs}}),
  pg_temp.id('user', u),
  case when u <= {{orgs}} then 'owner' else pg_temp.pick(u, 20, array['admin', 'member', 'member', 'member']) end,
  case
    when u % 7 = 0 and {{orgs}} >= 2 then false  -- two memberships, see below
    else u % 3 <> 0
  end,
  pg_temp.ts(u, 1) + interval '1 hour'
from generate_series(1, {{users}}) u
where u % 10 <> 0;

-- Second membership (u % 7 = 0): u % 14 = 0 -> the second one is primary;
-- u % 21 = 0 -> neither is primary and both are equally old (the smallest org
-- id wins); otherwise neither is primary and the first is older.
insert into public.organization_members (org_id, user_id, role, is_primary, created_at)
select
  pg_temp.id('org', 1 + u % {{orgs}}),
  pg_temp.id('user', u),
  'member',
  u % 14 = 0,
  case when u % 21 = 0 and u % 14 <> 0 then pg_temp.ts(u, 1) + interval '1 hour'
       else pg_temp.ts(u, 1) + interval '30 days' end
from generate_series(1, {{users}}) u
where u % 7 = 0 and u % 10 <> 0 and {{orgs}} >= 2;

-- A few users (u % 20 = 1) already carry their org in app_metadata, as if
-- set by hand earlier; it is the org the membership rule resolves to.
update auth.users usr
set raw_app_meta_data = usr.raw_app_meta_data || jsonb_build_object('org_id', m.org_id)
from (
  select distinct on (user_id) user_id, org_id
  from public.organization_members
  order by user_id, is_primary desc, created_at, org_id
) m
where m.user_id = usr.id
  and usr.id in (select pg_temp.id('user', u) from generate_series(1, {{users}}) u where u % 20 = 1);

-- Global and excluded -------------------------------------------------------------
insert into public.subscription_plans (id, name, price_cents, included_minutes, max_phone_numbers, features, is_active, created_at)
values
  ('free', 'Free', 0, 30, 1, '{"campaigns": false}', true, '2023-11-01 00:00:00+00'),
  ('starter', 'Starter', 4900, 500, 2, '{"campaigns": true}', true, '2023-11-01 00:00:00+00'),
  ('growth', 'Growth', 19900, 3000, 10, '{"campaigns": true, "kb": true}', true, '2023-11-01 00:00:00+00'),
  ('legacy', 'Legacy', 2900, 200, 1, '{}', false, '2023-11-01 00:00:00+00');

insert into public.customers (id, user_id, stripe_customer_id, email, created_at)
select pg_temp.id('customer', u), pg_temp.id('user', u), 'cus_' || substr(md5('{{seed}}/cus/' || u), 1, 14),
       'user' || u || '@example.com', pg_temp.ts(u, 1) + interval '1 day'
from generate_series(1, {{users}}) u
where u % 5 <> 0;

insert into public.user_credits (user_id, balance, lifetime_purchased, updated_at)
select pg_temp.id('user', u), (pg_temp.r(u, 30) % 100000) / 100.0, (pg_temp.r(u, 31) % 500000) / 100.0,
       pg_temp.ts(u, 32)
from generate_series(1, {{users}}) u;

insert into public.user_subscriptions (id, user_id, plan_id, status, stripe_subscription_id,
                                       current_period_start, current_period_end, cancel_at_period_end, created_at)
select pg_temp.id('user_subscription', u), pg_temp.id('user', u),
       pg_temp.pick(u, 40, array['free', 'starter', 'starter', 'growth', 'legacy']),
       pg_temp.pick(u, 41, array['trialing', 'active', 'active', 'active', 'past_due', 'canceled']),
       'sub_' || substr(md5('{{seed}}/sub/' || u), 1, 14),
       pg_temp.ts(u, 42), pg_temp.ts(u, 42) + interval '1 month', u % 11 = 0, pg_temp.ts(u, 1) + interval '1 day'
from generate_series(1, {{users}}) u
where u % 4 <> 0;

-- Agents, numbers, credentials (direct) ----------------------------------------
insert into public.agent_configurations (id, user_id, name, voice, llm_model, system_prompt, temperature,
                                         settings, is_default, created_at, updated_at)
select pg_temp.id('agent_configuration', n), pg_temp.owner(n),
       pg_temp.pick(n, 50, array['Receptionist', 'Appointment setter', 'Survey bot', 'Collections', 'Support']) || ' ' || n,
       pg_temp.pick(n, 51, array['alloy', 'echo', 'nova', 'shimmer']),
       pg_temp.pick(n, 52, array['gpt-4o-mini', 'gpt-4o', 'claude-3-haiku']),
       'You are a friendly phone agent. Keep answers short.',
       (pg_temp.r(n, 53) % 100) / 100.0,
       jsonb_build_object('max_call_minutes', 5 + pg_temp.r(n, 54) % 25, 'voicemail_detection', n % 2 = 0),
       n <= {{users}},
       pg_temp.ts(n, 55), pg_temp.ts(n, 55) + interval '2 days'
from generate_series(1, {{agent_configurations}}) n;

insert into public.phone_assistants (id, owner_id, agent_configuration_id, name, phone_number, status, created_at)
select pg_temp.id('phone_assistant', n), pg_temp.owner(n),
       case when n % 4 = 0 then null else pg_temp.id('agent_configuration', 1 + (n - 1) % {{agent_configurations}}) end,
       'Assistant ' || n, '+1555' || lpad(n::text, 7, '0'),
       pg_temp.pick(n, 60, array['active', 'active', 'paused', 'archived']),
       pg_temp.ts(n, 61)
from generate_series(1, {{phone_assistants}}) n;

insert into public.user_phone_numbers (id, user_id, phone_number, twilio_sid, friendly_name, capabilities, is_active, created_at)
select pg_temp.id('user_phone_number', n), pg_temp.owner(n), '+1666' || lpad(n::text, 7, '0'),
       'PN' || md5('pn' || n), 'Line ' || n,
       jsonb_build_object('voice', true, 'sms', n % 3 = 0), n % 9 <> 0, pg_temp.ts(n, 70)
from generate_series(1, {{user_phone_numbers}}) n;

insert into public.user_twilio_subaccounts (id, user_id, subaccount_sid, status, created_at)
select pg_temp.id('user_twilio_subaccount', u), pg_temp.id('user', u), 'AC' || md5('{{seed}}/ac/' || u),
       pg_temp.pick(u, 80, array['active', 'active', 'suspended']), pg_temp.ts(u, 81)
from generate_series(1, {{user_twilio_subaccounts}}) u;

-- created_by is text: mostly an owner's id, NULL for n % 5 = 0, and the id of
-- a user that does not exist for n % 7 = 0 (unknown-user orphans).
insert into public.customer_twilio_keys (id, created_by, label, account_sid, api_key_sid, api_key_secret_encrypted,
                                         created_at, last_used_at)
select pg_temp.id('customer_twilio_key', n),
       case when n % 5 = 0 then null
            when n % 7 = 0 then pg_temp.id('ghost', n)::text
            else pg_temp.owner(n)::text end,
       pg_temp.pick(n, 90, array['default', 'production', 'staging']),
       'AC' || md5('acct' || n), 'SK' || md5('sk' || n), decode(md5('secret' || n), 'hex'),
       pg_temp.ts(n, 91), case when n % 2 = 0 then pg_temp.ts(n, 91) + interval '3 days' end
from generate_series(1, {{customer_twilio_keys}}) n;

insert into public.credential_tokens (id, user_id, provider, token_hash, scopes, expires_at, revoked_at, created_at)
select pg_temp.id('credential_token', n), pg_temp.owner(n),
       pg_temp.pick(n, 100, array['google', 'hubspot', 'salesforce', 'calendly']),
       md5('token' || n), array['read', 'write'],
       pg_temp.ts(n, 101) + interval '90 days', case when n % 6 = 0 then pg_temp.ts(n, 101) + interval '5 days' end,
       pg_temp.ts(n, 101)
from generate_series(1, {{credential_tokens}}) n;

-- Leads, contacts, compliance (direct) ------------------------------------------
insert into public.leads (id, user_id, first_name, last_name, phone, email, company, status, source, score,
                          metadata, last_contacted_at, created_at, updated_at)
select pg_temp.id('lead', n), pg_temp.owner(n),
       pg_temp.pick(n, 110, array['James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Maria']),
       pg_temp.pick(n, 111, array['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Lopez', 'Wilson']),
       '+1' || (2000000000 + pg_temp.r(n, 112) % 7999999999)::text,
       'lead' || n || '@example.net',
       case when n % 3 = 0 then null else pg_temp.pick(n, 113, array['Acme', 'Contoso', 'Fabrikam', 'Tailspin', 'Wingtip']) || ' LLC' end,
       pg_temp.pick(n, 114, array['new', 'new', 'contacted', 'qualified', 'converted', 'lost']),
       pg_temp.pick(n, 115, array['csv_upload', 'web_form', 'api', 'referral']),
       case when n % 4 = 0 then null else (pg_temp.r(n, 116) % 101)::int end,
       jsonb_build_object('utm_source', pg_temp.pick(n, 117, array['google', 'facebook', 'linkedin', 'direct'])),
       case when n % 2 = 0 then pg_temp.ts(n, 118) end,
       pg_temp.ts(n, 119), pg_temp.ts(n, 119) + interval '1 hour'
from generate_series(1, {{leads}}) n;

insert into public.contacts (id, user_id, full_name, phone, email, tags, created_at, updated_at)
select pg_temp.id('contact', n), pg_temp.owner(n),
       pg_temp.pick(n, 120, array['Alex', 'Sam', 'Jordan', 'Taylor', 'Casey']) || ' ' || pg_temp.pick(n, 121, array['Lee', 'Kim', 'Patel', 'Nguyen', 'Cohen']),
       '+1' || (2000000000 + pg_temp.r(n, 122) % 7999999999)::text,
       'contact' || n || '@example.org',
       case when n % 3 = 0 then array['vip'] else '{}' end,
       pg_temp.ts(n, 123), pg_temp.ts(n, 123)
from generate_series(1, {{contacts}}) n;

insert into public.consent_records (id, user_id, contact_id, phone_number, consent_type, granted, source, recorded_at)
select pg_temp.id('consent_record', n), pg_temp.owner(n),
       case when n % 5 = 0 or n > {{contacts}} then null else pg_temp.id('contact', n) end,
       '+1' || (2000000000 + pg_temp.r(n, 130) % 7999999999)::text,
       pg_temp.pick(n, 131, array['call', 'sms', 'recording']), n % 8 <> 0,
       pg_temp.pick(n, 132, array['web_form', 'ivr', 'verbal']), pg_temp.ts(n, 133)
from generate_series(1, {{consent_records}}) n;

-- user_id NULL (platform-wide entry) for n % 5 = 0.
insert into public.dnc_list (id, user_id, phone_number, reason, added_at)
select n, case when n % 5 = 0 then null else pg_temp.owner(n) end,
       '+1' || (2000000000 + pg_temp.r(n, 140) % 7999999999)::text,
       pg_temp.pick(n, 141, array['requested', 'complaint', 'litigator', 'wrong_number']), pg_temp.ts(n, 142)
from generate_series(1, {{dnc_list}}) n;

insert into public.daily_lead_uploads (id, user_id, upload_date, file_name, row_count, status, created_at)
select pg_temp.id('daily_lead_upload', n), pg_temp.owner(n), pg_temp.ts(n, 150)::date,
       'leads-' || n || '.csv', (pg_temp.r(n, 151) % 5000)::int,
       pg_temp.pick(n, 152, array['processed', 'processed', 'failed', 'pending']), pg_temp.ts(n, 150)
from generate_series(1, {{daily_lead_uploads}}) n;

-- user_id NULL (system event) for n % 4 = 0.
insert into public.compliance_audit_logs (id, user_id, event_type, details, ip_address, created_at)
select n, case when n % 4 = 0 then null else pg_temp.owner(n) end,
       pg_temp.pick(n, 160, array['dnc_check', 'consent_captured', 'recording_disclosure', 'quiet_hours_block']),
       jsonb_build_object('rule', 'TCPA', 'passed', n % 9 <> 0),
       ('10.' || (n % 250) || '.' || (n / 250 % 250) || '.' || (pg_temp.r(n, 161) % 250))::inet,
       pg_temp.ts(n, 162)
from generate_series(1, {{compliance_audit_logs}}) n;

-- Campaigns and their children ------------------------------------------------------
insert into public.campaigns (id, user_id, agent_configuration_id, name, status, scheduled_at, settings, created_at, updated_at)
select pg_temp.id('campaign', m), pg_temp.owner(m),
       case when m % 3 = 0 or m > {{agent_configurations}} then null else pg_temp.id('agent_configuration', m) end,
       pg_temp.pick(m, 170, array['Spring promo', 'Renewals', 'Win-back', 'Webinar follow-up', 'Cold outreach']) || ' #' || m,
       pg_temp.pick(m, 171, array['draft', 'scheduled', 'running', 'paused', 'completed']),
       case when m % 2 = 0 then pg_temp.ts(m, 172) end,
       jsonb_build_object('max_attempts', 1 + pg_temp.r(m, 173) % 3, 'calling_hours', '09:00-17:00'),
       pg_temp.ts(m, 174), pg_temp.ts(m, 174)
from generate_series(1, {{campaigns}}) m;

insert into public.campaign_phone_numbers (id, campaign_id, phone_number, is_active, created_at)
select pg_temp.id('campaign_phone_number', (m - 1) * 2 + j), pg_temp.id('campaign', m),
       '+1777' || lpad(((m - 1) * 2 + j)::text, 7, '0'), j = 1, pg_temp.ts(m, 174) + interval '1 hour'
from generate_series(1, {{campaigns}}) m, generate_series(1, 2) j;

insert into public.campaign_summaries (campaign_id, total_calls, answered_calls, conversions, total_cost, summary, updated_at)
select pg_temp.id('campaign', m), (pg_temp.r(m, 180) % 1000)::int, (pg_temp.r(m, 181) % 500)::int,
       (pg_temp.r(m, 182) % 50)::int, (pg_temp.r(m, 183) % 100000) / 100.0,
       'Auto-generated summary for campaign ' || m, pg_temp.ts(m, 184)
from generate_series(1, {{campaigns}}) m
where m % 4 <> 0;

-- Campaign m (owned by user u = 1 + (m-1) % users) lists leads of the same
-- user: lead l = u + users * k is owned by u as well.
insert into public.campaign_leads (campaign_id, lead_id, "position", status, attempts, last_attempt_at, added_at)
select pg_temp.id('campaign', m), pg_temp.id('lead', l), j + 1,
       pg_temp.pick(l, 190, array['pending', 'pending', 'dialing', 'completed', 'failed', 'skipped']),
       (pg_temp.r(l, 191) % 4)::int,
       case when l % 2 = 0 then pg_temp.ts(l, 192) end,
       pg_temp.ts(m, 174) + j * interval '1 minute'
from generate_series(1, {{campaigns}}) m
cross join generate_series(0, {{campaign_leads_per}} - 1) j
cross join lateral (
  select 1 + (m - 1) % {{users}} + {{users}}::bigint * (j + ((m - 1) / {{users}}) * {{campaign_leads_per}}) as l
) x
where x.l <= {{leads}};

-- Scores for every other campaign lead (composite FK to campaign_leads).
insert into public."LeadScores" (id, campaign_id, lead_id, score, "ModelVersion", factors, scored_at)
select (m - 1) * {{campaign_leads_per}} + j + 1, pg_temp.id('campaign', m), pg_temp.id('lead', l),
       (pg_temp.r(l, 200) % 10000) / 100.0,
       pg_temp.pick(l, 201, array['v1', 'v2', 'v2-beta']),
       jsonb_build_object('engagement', pg_temp.r(l, 202) % 10, 'fit', pg_temp.r(l, 203) % 10),
       pg_temp.ts(l, 204)
from generate_series(1, {{campaigns}}) m
cross join generate_series(0, {{campaign_leads_per}} - 1) j
cross join lateral (
  select 1 + (m - 1) % {{users}} + {{users}}::bigint * (j + ((m - 1) / {{users}}) * {{campaign_leads_per}}) as l
) x
where x.l <= {{leads}} and j % 2 = 0;

insert into public.call_lists (id, user_id, name, "order", filters, created_at)
select pg_temp.id('call_list', n), pg_temp.owner(n), 'List ' || n, (n - 1) / {{users}},
       jsonb_build_object('status', pg_temp.pick(n, 210, array['new', 'contacted', 'qualified'])),
       pg_temp.ts(n, 211)
from generate_series(1, {{call_lists}}) n;

-- Calls and their children --------------------------------------------------------
-- Call n belongs to user 1 + (n-1) % users, like lead n and campaign
-- 1 + (n-1) % users. Every 17th call is a transfer of the previous one of
-- the same user (self reference).
insert into public.calls (id, user_id, campaign_id, lead_id, parent_call_id, direction, from_number, to_number,
                          status, twilio_call_sid, started_at, ended_at, duration_seconds, cost, metadata, created_at)
select pg_temp.id('call', n), pg_temp.owner(n),
       case when n % 3 <> 0 and 1 + (n - 1) % {{users}} <= {{campaigns}}
            then pg_temp.id('campaign', 1 + (n - 1) % {{users}}) end,
       case when n % 4 <> 0 and n <= {{leads}} then pg_temp.id('lead', n) end,
       case when n % 17 = 0 and n > {{users}} then pg_temp.id('call', n - {{users}}) end,
       case when n % 5 = 0 then 'inbound' else 'outbound' end,
       '+1555' || lpad((n % 10000000)::text, 7, '0'),
       '+1' || (2000000000 + pg_temp.r(n, 220) % 7999999999)::text,
       s.status,
       'CA' || encode(int8send(hashint8extended(n, ({{seed}})::bigint)) || int8send(n), 'hex'),
       pg_temp.ts(n, 221),
       case when s.status = 'completed' then pg_temp.ts(n, 221) + d.secs * interval '1 second' end,
       case when s.status = 'completed' then d.secs end,
       case when s.status = 'completed' then round(d.secs * 0.0140, 4) end,
       jsonb_build_object('answered_by', pg_temp.pick(n, 223, array['human', 'machine', 'unknown'])),
       pg_temp.ts(n, 221)
from generate_series(1, {{calls}}) n
cross join lateral (
  select pg_temp.pick(n, 222, array['completed', 'completed', 'completed', 'busy', 'no_answer', 'failed', 'queued']) as status
) s
cross join lateral (select (10 + pg_temp.r(n, 224) % 600)::int as secs) d;

insert into public.call_logs (id, call_id, event, level, message, data, logged_at)
select n, pg_temp.id('call', 1 + (n - 1) % {{calls}}),
       pg_temp.pick(n, 230, array['initiated', 'ringing', 'answered', 'transcript', 'tool_call', 'hangup']),
       pg_temp.pick(n, 231, array['info', 'info', 'info', 'debug', 'warn', 'error']),
       'event ' || n,
       jsonb_build_object('seq', (n - 1) / {{calls}}, 'latency_ms', pg_temp.r(n, 232) % 900),
       pg_temp.ts(1 + (n - 1) % {{calls}}, 221) + ((n - 1) / {{calls}}) * interval '1 second'
from generate_series(1, {{call_logs}}) n;

insert into public.sentiment_analysis (id, call_id, overall_sentiment, score, emotions, analyzed_at)
select pg_temp.id('sentiment_analysis', n), pg_temp.id('call', n),
       pg_temp.pick(n, 240, array['positive', 'neutral', 'neutral', 'negative']),
       ((pg_temp.r(n, 241) % 2001) - 1000) / 1000.0,
       jsonb_build_object('joy', pg_temp.r(n, 242) % 100, 'anger', pg_temp.r(n, 243) % 100),
       pg_temp.ts(n, 221) + interval '15 minutes'
from generate_series(1, {{calls}}) n
where n % 2 = 1;

insert into public.call_recordings (id, call_id, storage_path, format, duration_seconds, size_bytes, created_at)
select pg_temp.id('call_recording', n), pg_temp.id('call', 1 + (n - 1) % {{calls}}),
       'recordings/' || pg_temp.id('call', 1 + (n - 1) % {{calls}}) || '/' || n || '.mp3',
       'mp3', (10 + pg_temp.r(n, 250) % 600)::int, 16000 * (10 + pg_temp.r(n, 250) % 600),
       pg_temp.ts(1 + (n - 1) % {{calls}}, 221) + interval '20 minutes'
from generate_series(1, {{call_recordings}}) n;

-- call_id NULL (voicemail outside a tracked call) for n % 3 = 0.
insert into public.voicemail_audit_log (id, call_id, action, voicemail_url, transcription, detected_at, metadata)
select n, case when n % 3 = 0 then null else pg_temp.id('call', 1 + (n - 1) % {{calls}}) end,
       pg_temp.pick(n, 260, array['detected', 'left_message', 'skipped', 'transcribed']),
       'https://voicemail.example.com/' || n || '.wav',
       case when n % 2 = 0 then 'Hi, please call me back.' end,
       pg_temp.ts(n, 261),
       jsonb_build_object('beep_ms', pg_temp.r(n, 262) % 5000)
from generate_series(1, {{voicemail_audit_log}}) n;

insert into public.user_active_calls (id, user_id, call_id, started_at, last_heartbeat_at)
select pg_temp.id('user_active_call', n), pg_temp.owner(n), pg_temp.id('call', n),
       pg_temp.ts(n, 221), pg_temp.ts(n, 221) + interval '30 seconds'
from generate_series(1, {{user_active_calls}}) n;

insert into public.cold_call_logs (id, user_id, lead_id, phone_number, outcome, notes, duration_seconds, created_at)
select n, pg_temp.owner(n), case when n % 3 = 0 or n > {{leads}} then null else pg_temp.id('lead', n) end,
       '+1' || (2000000000 + pg_temp.r(n, 270) % 7999999999)::text,
       pg_temp.pick(n, 271, array['no_answer', 'voicemail', 'not_interested', 'callback', 'meeting_booked']),
       case when n % 4 = 0 then 'Asked to call back next week' end,
       (pg_temp.r(n, 272) % 900)::int, pg_temp.ts(n, 273)
from generate_series(1, {{cold_call_logs}}) n;

insert into public.appointments (id, user_id, lead_id, call_id, scheduled_for, status, notes, created_at)
select pg_temp.id('appointment', n), pg_temp.owner(n),
       case when n <= {{leads}} then pg_temp.id('lead', n) end,
       case when n % 2 = 0 and n <= {{calls}} then pg_temp.id('call', n) end,
       pg_temp.ts(n, 280) + interval '3 days',
       pg_temp.pick(n, 281, array['booked', 'confirmed', 'canceled', 'completed']),
       case when n % 5 = 0 then 'Prefers mornings' end,
       pg_temp.ts(n, 280)
from generate_series(1, {{appointments}}) n;

-- No primary key; user_id NULL (carrier event) for n % 6 = 0.
insert into public.telephony_audit_log (user_id, call_sid, event, payload, occurred_at)
select case when n % 6 = 0 then null else pg_temp.owner(n) end,
       'CA' || encode(int8send(hashint8extended(1 + (n - 1) % {{calls}}, ({{seed}})::bigint)) || int8send(1 + (n - 1) % {{calls}}), 'hex'),
       pg_temp.pick(n, 290, array['status_callback', 'recording_ready', 'carrier_error', 'sip_response']),
       jsonb_build_object('code', 100 + pg_temp.r(n, 291) % 500),
       pg_temp.ts(n, 292)
from generate_series(1, {{telephony_audit_log}}) n;

-- Knowledge base: knowledge_base -> documents -> chunks -> embeddings --------
insert into public.knowledge_base (id, user_id, name, description, source_type, status, metadata, created_at, updated_at)
select pg_temp.id('knowledge_base', k), pg_temp.owner(k),
       pg_temp.pick(k, 300, array['Product FAQ', 'Pricing', 'Objection handling', 'Scheduling policy']) || ' ' || k,
       'Knowledge base ' || k,
       pg_temp.pick(k, 301, array['upload', 'url', 'notion', 'gdrive']),
       pg_temp.pick(k, 302, array['ready', 'ready', 'syncing', 'error']),
       jsonb_build_object('language', 'en'),
       pg_temp.ts(k, 303), pg_temp.ts(k, 303)
from generate_series(1, {{knowledge_base}}) k;

-- Direct: user_id NULL (automated sync) for n % 3 = 0.
insert into public.knowledge_base_changelog (id, kb_id, user_id, action, diff, created_at)
select n, pg_temp.id('knowledge_base', 1 + (n - 1) % {{knowledge_base}}),
       case when n % 3 = 0 then null else pg_temp.owner(1 + (n - 1) % {{knowledge_base}}) end,
       case when n % 3 = 0 then 'sync' else pg_temp.pick(n, 310, array['create', 'update', 'update', 'delete']) end,
       jsonb_build_object('documents_changed', pg_temp.r(n, 311) % 20),
       pg_temp.ts(n, 312)
from generate_series(1, {{knowledge_base_changelog}}) n;

insert into public.kb_sync_log (id, kb_id, status, documents_synced, error, started_at, finished_at)
select n, pg_temp.id('knowledge_base', 1 + (n - 1) % {{knowledge_base}}),
       s.status, (pg_temp.r(n, 321) % 200)::int,
       case when s.status = 'failed' then 'timeout fetching source' end,
       pg_temp.ts(n, 322),
       case when s.status <> 'running' then pg_temp.ts(n, 322) + interval '2 minutes' end
from generate_series(1, {{kb_sync_log}}) n
cross join lateral (select pg_temp.pick(n, 320, array['succeeded', 'succeeded', 'succeeded', 'failed', 'running']) as status) s;

insert into public.knowledge_base_documents (id, kb_id, title, source_url, mime_type, content_hash, token_count, created_at)
select pg_temp.id('kb_document', d), pg_temp.id('knowledge_base', 1 + (d - 1) % {{knowledge_base}}),
       'Document ' || d, 'https://docs.example.com/' || d,
       pg_temp.pick(d, 330, array['application/pdf', 'text/html', 'text/markdown']),
       md5('doc' || d), (pg_temp.r(d, 331) % 20000)::int, pg_temp.ts(d, 332)
from generate_series(1, {{knowledge_base_documents}}) d;

-- Chunk n belongs to document 1 + (n-1) % documents with index
-- (n-1) / documents; previous_chunk_id is the chunk before it in the same
-- document (self reference).
insert into public.knowledge_base_chunks (id, document_id, previous_chunk_id, chunk_index, content, token_count, created_at)
select pg_temp.id('kb_chunk', n), pg_temp.id('kb_document', 1 + (n - 1) % {{knowledge_base_documents}}),
       case when n > {{knowledge_base_documents}} then pg_temp.id('kb_chunk', n - {{knowledge_base_documents}}) end,
       ((n - 1) / {{knowledge_base_documents}})::int,
       'Chunk ' || n || ': ' || pg_temp.pick(n, 340, array[
         'Our plans include unlimited inbound calls.',
         'Agents can transfer to a human at any time.',
         'Refunds are processed within five business days.',
         'Calls are recorded for quality assurance.']),
       (50 + pg_temp.r(n, 341) % 450)::int, pg_temp.ts(n, 342)
from generate_series(1, {{knowledge_base_chunks}}) n;

insert into public.embeddings (id, chunk_id, model, embedding, created_at)
select pg_temp.id('embedding', n), pg_temp.id('kb_chunk', 1 + (n - 1) % {{knowledge_base_chunks}}),
       case when n <= {{knowledge_base_chunks}} then 'text-embedding-3-small' else 'text-embedding-3-large' end,
       array[(pg_temp.r(n, 350) % 2000 - 1000) / 1000.0, (pg_temp.r(n, 351) % 2000 - 1000) / 1000.0,
             (pg_temp.r(n, 352) % 2000 - 1000) / 1000.0, (pg_temp.r(n, 353) % 2000 - 1000) / 1000.0]::real[],
       pg_temp.ts(n, 354)
from generate_series(1, {{embeddings}}) n;

-- Notifications ------------------------------------------------------------------------
-- created_by NULL (built-in system templates) for the first five.
insert into public.notification_templates (id, created_by, name, channel, subject, body, created_at)
select pg_temp.id('notification_template', n), case when n <= 5 then null else pg_temp.owner(n) end,
       pg_temp.pick(n, 360, array['Missed call', 'Appointment reminder', 'Daily digest', 'Low credits']) || ' ' || n,
       pg_temp.pick(n, 361, array['email', 'sms', 'push']),
       'Notification ' || n, 'Hi there, something happened on your account.', pg_temp.ts(n, 362)
from generate_series(1, {{notification_templates}}) n;

insert into public.notification_history (id, user_id, template_id, channel, recipient, status, payload, sent_at)
select n, pg_temp.owner(n),
       case when n % 4 = 0 then null else pg_temp.id('notification_template', 1 + (n - 1) % {{notification_templates}}) end,
       pg_temp.pick(n, 370, array['email', 'sms', 'push']), 'user' || (1 + (n - 1) % {{users}}) || '@example.com',
       pg_temp.pick(n, 371, array['sent', 'sent', 'sent', 'failed', 'queued']),
       jsonb_build_object('attempt', 1 + pg_temp.r(n, 372) % 3), pg_temp.ts(n, 373)
from generate_series(1, {{notification_history}}) n;

insert into public.notification_rate_limits (user_id, channel, window_start, sent_count)
select pg_temp.id('user', u), c.channel, date_trunc('hour', pg_temp.ts(u, 380)), (pg_temp.r(u, 381) % 20)::int
from generate_series(1, {{users}}) u
cross join (values ('email'), ('sms')) c(channel)
where u % 3 <> 0;

insert into public.onboarding_events (id, user_id, step, metadata, completed_at)
select (u - 1) * 3 + s, pg_temp.id('user', u),
       (array['signed_up', 'connected_phone', 'first_call'])[s],
       jsonb_build_object('step', s), pg_temp.ts(u, 1) + make_interval(hours => s)
from generate_series(1, {{users}}) u
cross join generate_series(1, 3) s
where s = 1 or u % (s + 1) <> 0;

-- Billing ---------------------------------------------------------------------------------
insert into public.billing_cycles (id, user_id, plan_id, period_start, period_end, status, minutes_used, amount_due, created_at)
select pg_temp.id('billing_cycle', (u - 1) * 2 + c), pg_temp.id('user', u),
       case when u % 6 = 0 then null else pg_temp.pick(u, 390, array['free', 'starter', 'growth']) end,
       (date '2025-01-01' + (c - 1) * 31), (date '2025-01-01' + c * 31),
       case when c = 1 then 'paid' else 'open' end,
       (pg_temp.r(u * 2 + c, 391) % 3000)::int, (pg_temp.r(u * 2 + c, 392) % 50000) / 100.0,
       timestamptz '2025-01-01 00:00:00+00' + make_interval(days => (c - 1) * 31)
from generate_series(1, {{users}}) u
cross join generate_series(1, 2) c;

insert into public.payments (id, user_id, amount, currency, status, stripe_payment_intent_id, created_at)
select pg_temp.id('payment', n), pg_temp.owner(n), (500 + pg_temp.r(n, 400) % 50000) / 100.0, 'USD',
       pg_temp.pick(n, 401, array['succeeded', 'succeeded', 'succeeded', 'failed', 'refunded', 'pending']),
       'pi_' || substr(md5('{{seed}}/pi/' || n), 1, 24), pg_temp.ts(n, 402)
from generate_series(1, {{payments}}) n;

insert into public.payment_events_log (id, payment_id, stripe_event_id, event_type, payload, received_at)
select n, pg_temp.id('payment', 1 + (n - 1) % {{payments}}), 'evt_' || substr(md5('{{seed}}/evt/' || n), 1, 24),
       pg_temp.pick(n, 410, array['payment_intent.created', 'payment_intent.succeeded', 'charge.refunded']),
       jsonb_build_object('livemode', false, 'attempt', (n - 1) / {{payments}}),
       pg_temp.ts(1 + (n - 1) % {{payments}}, 402) + ((n - 1) / {{payments}}) * interval '1 second'
from generate_series(1, {{payment_events_log}}) n;

insert into public.credit_transactions (id, user_id, payment_id, amount, balance_after, kind, description, created_at)
select pg_temp.id('credit_transaction', n), pg_temp.owner(n),
       case when n % 2 = 0 and n <= {{payments}} then pg_temp.id('payment', n) end,
       case when n % 2 = 0 then 1 else -1 end * (pg_temp.r(n, 420) % 10000) / 100.0,
       (pg_temp.r(n, 421) % 100000) / 100.0,
       case when n % 2 = 0 then 'purchase' else pg_temp.pick(n, 422, array['usage', 'usage', 'refund', 'adjustment']) end,
       'Transaction ' || n, pg_temp.ts(n, 423)
from generate_series(1, {{credit_transactions}}) n;

insert into public.usage_records (id, user_id, billing_cycle_id, call_id, metric, quantity, recorded_at)
select pg_temp.id('usage_record', n), pg_temp.owner(n),
       case when n % 5 = 0 then null else pg_temp.id('billing_cycle', (1 + (n - 1) % {{users}} - 1) * 2 + 1 + n % 2) end,
       case when n % 3 = 0 and n <= {{calls}} then pg_temp.id('call', n) end,
       pg_temp.pick(n, 430, array['call_minutes', 'call_minutes', 'sms', 'tts_characters', 'llm_tokens']),
       (pg_temp.r(n, 431) % 100000) / 100.0, pg_temp.ts(n, 432)
from generate_series(1, {{usage_records}}) n;

-- Spread over 2023-10 .. 2026-03 so that every partition, the DEFAULT one
-- included, gets rows.
insert into public.usage_events (id, user_id, event_type, quantity, metadata, created_at)
select n, pg_temp.owner(n),
       pg_temp.pick(n, 440, array['call.started', 'call.ended', 'sms.sent', 'llm.tokens', 'tts.characters']),
       (1 + pg_temp.r(n, 441) % 1000) / 10.0,
       jsonb_build_object('region', pg_temp.pick(n, 442, array['us-east-1', 'us-west-2', 'eu-west-1'])),
       to_timestamp(1696118400 + pg_temp.r(n, 443) % (912 * 86400))
from generate_series(1, {{usage_events}}) n;

-- Identity and serial sequences continue after the explicit ids. -----------------
select setval(pg_get_serial_sequence('public.dnc_list', 'id'), (select max(id) from public.dnc_list));
select setval(pg_get_serial_sequence('public.compliance_audit_logs', 'id'), (select max(id) from public.compliance_audit_logs));
select setval(pg_get_serial_sequence('public."LeadScores"', 'id'), (select max(id) from public."LeadScores"));
select setval(pg_get_serial_sequence('public.call_logs', 'id'), (select max(id) from public.call_logs));
select setval(pg_get_serial_sequence('public.voicemail_audit_log', 'id'), (select max(id) from public.voicemail_audit_log));
select setval(pg_get_serial_sequence('public.cold_call_logs', 'id'), (select max(id) from public.cold_call_logs));
select setval(pg_get_serial_sequence('public.knowledge_base_changelog', 'id'), (select max(id) from public.knowledge_base_changelog));
select setval(pg_get_serial_sequence('public.kb_sync_log', 'id'), (select max(id) from public.kb_sync_log));
select setval(pg_get_serial_sequence('public.notification_history', 'id'), (select max(id) from public.notification_history));
select setval(pg_get_serial_sequence('public.onboarding_events', 'id'), (select max(id) from public.onboarding_events));
select setval(pg_get_serial_sequence('public.payment_events_log', 'id'), (select max(id) from public.payment_events_log));
select setval(pg_get_serial_sequence('public.usage_events', 'id'), (select max(id) from public.usage_events));

-- Only the owner may refresh; a role that may merely write the tables skips it.
do $$
begin
  if pg_has_role((select relowner from pg_class where oid = 'public.daily_call_stats'::regclass), 'USAGE') then
    refresh materialized view public.daily_call_stats;
  end if;
end
$$;

do $$
begin
  if current_setting('session_replication_role') <> current_setting('exampledata.saved_replication_role') then
    perform set_config('session_replication_role', current_setting('exampledata.saved_replication_role'), true);
  end if;
end
$$;

-- Planner statistics, so that row estimates (warden plan) are right at once.
-- A small sample is enough for that and much faster on millions of rows.
select set_config('default_statistics_target', '10', true);
analyze;
select set_config('default_statistics_target', current_setting('exampledata.saved_statistics_target'), true),
       set_config('work_mem', current_setting('exampledata.saved_work_mem'), true);
