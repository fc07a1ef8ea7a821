-- schema/app.sql: the example application, a Supabase-style voice-calling SaaS
-- (AI phone agents, campaigns, leads, knowledge bases, telephony, billing).
--
-- It is the schema as it stands BEFORE the org migration: rows are owned by
-- users (user_id, or owner_id / created_by on a few tables), organizations and
-- memberships exist, and no table but organization_members has org_id yet.
-- warden's repository policy.yaml classifies it; schema/auth.sql must be
-- loaded first. Load into a fresh database, e.g.
--   psql -v ON_ERROR_STOP=1 -f schema/auth.sql -f schema/app.sql
-- or as one multi-statement simple query. No psql meta-commands.
--
-- Classes intended by the policy (43 tables get org_id):
--   tenant root : organizations, organization_members
--   direct (30) : own user_id (or owner_id / created_by) column
--   inherited (13): reach a direct table through foreign keys
--   excluded    : user_credits, user_subscriptions, customers
--   global      : subscription_plans

-- Helpers ----------------------------------------------------------------------
create function public.set_updated_at()
returns trigger
language plpgsql
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

-- Tenant root --------------------------------------------------------------------
create table public.organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  slug text unique,
  billing_email text,
  settings jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table public.organization_members (
  org_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null default 'member' check (role in ('owner', 'admin', 'member')),
  is_primary boolean not null default false,
  created_at timestamptz not null default now(),
  primary key (org_id, user_id)
);
create index organization_members_user_id_idx on public.organization_members (user_id);
-- A user has at most one primary organization.
create unique index organization_members_one_primary_idx
  on public.organization_members (user_id) where is_primary;

-- Global reference data (no owner) -----------------------------------------------
create table public.subscription_plans (
  id text primary key,
  name text not null,
  price_cents integer not null check (price_cents >= 0),
  included_minutes integer not null default 0,
  max_phone_numbers integer not null default 1,
  features jsonb not null default '{}'::jsonb,
  is_active boolean not null default true,
  created_at timestamptz not null default now()
);

-- Excluded: user-scoped billing identity, stays per user --------------------------
create table public.customers (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null unique references auth.users (id) on delete cascade,
  stripe_customer_id text unique,
  email text,
  created_at timestamptz not null default now()
);

create table public.user_credits (
  user_id uuid primary key references auth.users (id) on delete cascade,
  balance numeric(12, 2) not null default 0,
  lifetime_purchased numeric(12, 2) not null default 0,
  updated_at timestamptz not null default now()
);

create table public.user_subscriptions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  plan_id text not null references public.subscription_plans (id),
  status text not null default 'active'
    check (status in ('trialing', 'active', 'past_due', 'canceled')),
  stripe_subscription_id text unique,
  current_period_start timestamptz,
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  created_at timestamptz not null default now()
);
create index user_subscriptions_user_id_idx on public.user_subscriptions (user_id);

-- Agents and phone numbers (direct) ----------------------------------------------------
create table public.agent_configurations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  name text not null,
  voice text not null default 'alloy',
  llm_model text not null default 'gpt-4o-mini',
  system_prompt text,
  temperature numeric(3, 2) not null default 0.70,
  settings jsonb not null default '{}'::jsonb,
  is_default boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index agent_configurations_user_id_idx on public.agent_configurations (user_id);

-- Owned through owner_id rather than user_id.
create table public.phone_assistants (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references auth.users (id) on delete cascade,
  agent_configuration_id uuid references public.agent_configurations (id) on delete set null,
  name text not null,
  phone_number text,
  status text not null default 'active' check (status in ('active', 'paused', 'archived')),
  created_at timestamptz not null default now()
);
create index phone_assistants_owner_id_idx on public.phone_assistants (owner_id);

create table public.user_phone_numbers (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  phone_number text not null unique,
  twilio_sid text,
  friendly_name text,
  capabilities jsonb not null default '{"voice": true, "sms": false}'::jsonb,
  is_active boolean not null default true,
  created_at timestamptz not null default now()
);
create index user_phone_numbers_user_id_idx on public.user_phone_numbers (user_id);

create table public.user_twilio_subaccounts (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null unique references auth.users (id) on delete cascade,
  subaccount_sid text not null unique,
  status text not null default 'active',
  created_at timestamptz not null default now()
);

-- Owned through a text column that holds an auth user id (no FK; the policy
-- marks created_by require_fk: false).
create table public.customer_twilio_keys (
  id uuid primary key default gen_random_uuid(),
  created_by text,
  label text not null default 'default',
  account_sid text not null,
  api_key_sid text not null,
  api_key_secret_encrypted bytea,
  created_at timestamptz not null default now(),
  last_used_at timestamptz
);

create table public.credential_tokens (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  provider text not null,
  token_hash text not null,
  scopes text[] not null default '{}',
  expires_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now()
);
create index credential_tokens_user_id_provider_idx on public.credential_tokens (user_id, provider);

-- Leads, contacts, compliance (direct) ----------------------------------------------
create table public.leads (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  first_name text,
  last_name text,
  phone text not null,
  email text,
  company text,
  status text not null default 'new'
    check (status in ('new', 'contacted', 'qualified', 'converted', 'lost')),
  source text,
  score integer,
  metadata jsonb not null default '{}'::jsonb,
  last_contacted_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index leads_user_id_status_idx on public.leads (user_id, status);

create table public.contacts (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  full_name text not null,
  phone text,
  email text,
  tags text[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index contacts_user_id_idx on public.contacts (user_id);

create table public.consent_records (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  contact_id uuid references public.contacts (id) on delete set null,
  phone_number text not null,
  consent_type text not null check (consent_type in ('call', 'sms', 'recording')),
  granted boolean not null,
  source text,
  recorded_at timestamptz not null default now()
);
create index consent_records_user_id_idx on public.consent_records (user_id);

-- user_id is NULL for platform-wide entries.
create table public.dnc_list (
  id bigint generated by default as identity primary key,
  user_id uuid references auth.users (id) on delete cascade,
  phone_number text not null,
  reason text,
  added_at timestamptz not null default now()
);
create index dnc_list_phone_number_idx on public.dnc_list (phone_number);

create table public.daily_lead_uploads (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  upload_date date not null,
  file_name text not null,
  row_count integer not null default 0,
  status text not null default 'processed',
  created_at timestamptz not null default now()
);
create index daily_lead_uploads_user_id_upload_date_idx on public.daily_lead_uploads (user_id, upload_date);

-- user_id is NULL for system events.
create table public.compliance_audit_logs (
  id bigint generated by default as identity primary key,
  user_id uuid references auth.users (id) on delete set null,
  event_type text not null,
  details jsonb not null default '{}'::jsonb,
  ip_address inet,
  created_at timestamptz not null default now()
);
create index compliance_audit_logs_created_at_idx on public.compliance_audit_logs (created_at);

-- Campaigns ---------------------------------------------------------------------
create table public.campaigns (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  agent_configuration_id uuid references public.agent_configurations (id) on delete set null,
  name text not null,
  status text not null default 'draft'
    check (status in ('draft', 'scheduled', 'running', 'paused', 'completed')),
  scheduled_at timestamptz,
  settings jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index campaigns_user_id_idx on public.campaigns (user_id);

-- Inherited via campaigns.
create table public.campaign_phone_numbers (
  id uuid primary key default gen_random_uuid(),
  campaign_id uuid not null references public.campaigns (id) on delete cascade,
  phone_number text not null,
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  unique (campaign_id, phone_number)
);

-- Inherited via campaigns; the primary key is the foreign key.
create table public.campaign_summaries (
  campaign_id uuid primary key references public.campaigns (id) on delete cascade,
  total_calls integer not null default 0,
  answered_calls integer not null default 0,
  conversions integer not null default 0,
  total_cost numeric(12, 4) not null default 0,
  summary text,
  updated_at timestamptz not null default now()
);

-- Inherited: composite primary key, foreign keys to two direct tables
-- (campaigns and leads); the policy chooses via: public.campaigns.
-- "position" is a keyword and is always quoted.
create table public.campaign_leads (
  campaign_id uuid not null references public.campaigns (id) on delete cascade,
  lead_id uuid not null references public.leads (id) on delete cascade,
  "position" integer not null default 0,
  status text not null default 'pending'
    check (status in ('pending', 'dialing', 'completed', 'failed', 'skipped')),
  attempts integer not null default 0,
  last_attempt_at timestamptz,
  added_at timestamptz not null default now(),
  primary key (campaign_id, lead_id)
);
create index campaign_leads_lead_id_idx on public.campaign_leads (lead_id);

-- Inherited through a composite foreign key to campaign_leads (then via
-- campaigns). Quoted mixed-case names, as some ORMs create them.
create table public."LeadScores" (
  id bigint generated by default as identity primary key,
  campaign_id uuid not null,
  lead_id uuid not null,
  score numeric(5, 2) not null,
  "ModelVersion" text not null default 'v1',
  factors jsonb not null default '{}'::jsonb,
  scored_at timestamptz not null default now(),
  constraint "LeadScores_campaign_lead_fkey" foreign key (campaign_id, lead_id)
    references public.campaign_leads (campaign_id, lead_id) on delete cascade
);
create index "LeadScores_campaign_id_lead_id_idx" on public."LeadScores" (campaign_id, lead_id);

-- "order" is a reserved word and is always quoted.
create table public.call_lists (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  name text not null,
  "order" integer not null default 0,
  filters jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
create index call_lists_user_id_idx on public.call_lists (user_id);

-- Calls ---------------------------------------------------------------------------
-- parent_call_id is a self reference (transfers, retries); it never makes an
-- ownership path.
create table public.calls (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  campaign_id uuid references public.campaigns (id) on delete set null,
  lead_id uuid references public.leads (id) on delete set null,
  parent_call_id uuid references public.calls (id) on delete set null,
  direction text not null default 'outbound' check (direction in ('inbound', 'outbound')),
  from_number text,
  to_number text,
  status text not null default 'queued'
    check (status in ('queued', 'ringing', 'in_progress', 'completed', 'busy', 'no_answer', 'failed')),
  twilio_call_sid text unique,
  started_at timestamptz,
  ended_at timestamptz,
  duration_seconds integer,
  cost numeric(10, 4),
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
create index calls_user_id_created_at_idx on public.calls (user_id, created_at desc);

-- Inherited via calls.
create table public.call_logs (
  id bigint generated by default as identity primary key,
  call_id uuid not null references public.calls (id) on delete cascade,
  event text not null,
  level text not null default 'info' check (level in ('debug', 'info', 'warn', 'error')),
  message text,
  data jsonb not null default '{}'::jsonb,
  logged_at timestamptz not null default now()
);
create index call_logs_call_id_idx on public.call_logs (call_id);

-- Inherited via calls (1:1).
create table public.sentiment_analysis (
  id uuid primary key default gen_random_uuid(),
  call_id uuid not null unique references public.calls (id) on delete cascade,
  overall_sentiment text not null check (overall_sentiment in ('positive', 'neutral', 'negative')),
  score numeric(4, 3),
  emotions jsonb not null default '{}'::jsonb,
  analyzed_at timestamptz not null default now()
);

-- Inherited via calls.
create table public.call_recordings (
  id uuid primary key default gen_random_uuid(),
  call_id uuid not null references public.calls (id) on delete cascade,
  storage_path text not null,
  format text not null default 'mp3',
  duration_seconds integer,
  size_bytes bigint,
  created_at timestamptz not null default now()
);
create index call_recordings_call_id_idx on public.call_recordings (call_id);

-- Inherited via calls, but the only parent key is NULLABLE: voicemails that
-- arrive outside a tracked call have no call_id (orphans for the backfill).
create table public.voicemail_audit_log (
  id bigint generated by default as identity primary key,
  call_id uuid references public.calls (id) on delete set null,
  action text not null,
  voicemail_url text,
  transcription text,
  detected_at timestamptz not null default now(),
  metadata jsonb not null default '{}'::jsonb
);
create index voicemail_audit_log_call_id_idx on public.voicemail_audit_log (call_id);

create table public.user_active_calls (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  call_id uuid not null references public.calls (id) on delete cascade,
  started_at timestamptz not null default now(),
  last_heartbeat_at timestamptz
);
create index user_active_calls_user_id_idx on public.user_active_calls (user_id);

create table public.cold_call_logs (
  id bigint generated by default as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  lead_id uuid references public.leads (id) on delete set null,
  phone_number text not null,
  outcome text,
  notes text,
  duration_seconds integer,
  created_at timestamptz not null default now()
);
create index cold_call_logs_user_id_idx on public.cold_call_logs (user_id);

create table public.appointments (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  lead_id uuid references public.leads (id) on delete set null,
  call_id uuid references public.calls (id) on delete set null,
  scheduled_for timestamptz not null,
  status text not null default 'booked' check (status in ('booked', 'confirmed', 'canceled', 'completed')),
  notes text,
  created_at timestamptz not null default now()
);
create index appointments_user_id_scheduled_for_idx on public.appointments (user_id, scheduled_for);

-- Append-only, no primary key (backfill must use ctid ranges); user_id is
-- NULL for carrier events that no user caused.
create table public.telephony_audit_log (
  user_id uuid references auth.users (id) on delete set null,
  call_sid text,
  event text not null,
  payload jsonb not null default '{}'::jsonb,
  occurred_at timestamptz not null default now()
);

-- Knowledge base: knowledge_base (direct) -> documents -> chunks -> embeddings -
create table public.knowledge_base (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  name text not null,
  description text,
  source_type text not null default 'upload' check (source_type in ('upload', 'url', 'notion', 'gdrive')),
  status text not null default 'ready',
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index knowledge_base_user_id_idx on public.knowledge_base (user_id);

-- Direct (own user_id, NULL for automated changes) although it also has a
-- foreign key to knowledge_base: its own column wins.
create table public.knowledge_base_changelog (
  id bigint generated by default as identity primary key,
  kb_id uuid not null references public.knowledge_base (id) on delete cascade,
  user_id uuid references auth.users (id) on delete set null,
  action text not null check (action in ('create', 'update', 'delete', 'sync')),
  diff jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
create index knowledge_base_changelog_kb_id_idx on public.knowledge_base_changelog (kb_id);

-- Inherited via knowledge_base.
create table public.kb_sync_log (
  id bigint generated by default as identity primary key,
  kb_id uuid not null references public.knowledge_base (id) on delete cascade,
  status text not null check (status in ('running', 'succeeded', 'failed')),
  documents_synced integer not null default 0,
  error text,
  started_at timestamptz not null default now(),
  finished_at timestamptz
);
create index kb_sync_log_kb_id_idx on public.kb_sync_log (kb_id);

-- Inherited via knowledge_base (depth 1).
create table public.knowledge_base_documents (
  id uuid primary key default gen_random_uuid(),
  kb_id uuid not null references public.knowledge_base (id) on delete cascade,
  title text not null,
  source_url text,
  mime_type text,
  content_hash text,
  token_count integer,
  created_at timestamptz not null default now()
);
create index knowledge_base_documents_kb_id_idx on public.knowledge_base_documents (kb_id);

-- Inherited via knowledge_base_documents (depth 2). previous_chunk_id is a
-- self reference.
create table public.knowledge_base_chunks (
  id uuid primary key default gen_random_uuid(),
  document_id uuid not null references public.knowledge_base_documents (id) on delete cascade,
  previous_chunk_id uuid references public.knowledge_base_chunks (id) on delete set null,
  chunk_index integer not null,
  content text not null,
  token_count integer,
  created_at timestamptz not null default now()
);
create index knowledge_base_chunks_document_id_idx on public.knowledge_base_chunks (document_id, chunk_index);

-- Inherited via knowledge_base_chunks (depth 3). Vectors are real[] so that
-- the schema needs no extension (pgvector would use vector(1536)).
create table public.embeddings (
  id uuid primary key default gen_random_uuid(),
  chunk_id uuid not null references public.knowledge_base_chunks (id) on delete cascade,
  model text not null default 'text-embedding-3-small',
  embedding real[] not null,
  created_at timestamptz not null default now()
);
create index embeddings_chunk_id_idx on public.embeddings (chunk_id);

-- Notifications -----------------------------------------------------------------
-- Owned through created_by (uuid FK); NULL for built-in system templates.
create table public.notification_templates (
  id uuid primary key default gen_random_uuid(),
  created_by uuid references auth.users (id) on delete set null,
  name text not null,
  channel text not null check (channel in ('email', 'sms', 'push')),
  subject text,
  body text not null,
  created_at timestamptz not null default now()
);

create table public.notification_history (
  id bigint generated by default as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  template_id uuid references public.notification_templates (id) on delete set null,
  channel text not null,
  recipient text not null,
  status text not null default 'sent' check (status in ('queued', 'sent', 'failed')),
  payload jsonb not null default '{}'::jsonb,
  sent_at timestamptz not null default now()
);
create index notification_history_user_id_sent_at_idx on public.notification_history (user_id, sent_at desc);

create table public.notification_rate_limits (
  user_id uuid not null references auth.users (id) on delete cascade,
  channel text not null,
  window_start timestamptz not null,
  sent_count integer not null default 0,
  primary key (user_id, channel, window_start)
);

create table public.onboarding_events (
  id bigint generated by default as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  step text not null,
  metadata jsonb not null default '{}'::jsonb,
  completed_at timestamptz not null default now()
);
create index onboarding_events_user_id_idx on public.onboarding_events (user_id);

-- Billing (direct, except payment_events_log) ------------------------------------
create table public.billing_cycles (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  plan_id text references public.subscription_plans (id),
  period_start date not null,
  period_end date not null,
  status text not null default 'open' check (status in ('open', 'invoiced', 'paid', 'void')),
  minutes_used integer not null default 0,
  amount_due numeric(12, 2) not null default 0,
  created_at timestamptz not null default now(),
  check (period_end > period_start)
);
create index billing_cycles_user_id_period_start_idx on public.billing_cycles (user_id, period_start);

create table public.payments (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  amount numeric(12, 2) not null,
  currency char(3) not null default 'USD',
  status text not null check (status in ('pending', 'succeeded', 'failed', 'refunded')),
  stripe_payment_intent_id text unique,
  created_at timestamptz not null default now()
);
create index payments_user_id_idx on public.payments (user_id);

-- Inherited via payments.
create table public.payment_events_log (
  id bigint generated by default as identity primary key,
  payment_id uuid not null references public.payments (id) on delete cascade,
  stripe_event_id text not null unique,
  event_type text not null,
  payload jsonb not null default '{}'::jsonb,
  received_at timestamptz not null default now()
);
create index payment_events_log_payment_id_idx on public.payment_events_log (payment_id);

create table public.credit_transactions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  payment_id uuid references public.payments (id) on delete set null,
  amount numeric(12, 2) not null,
  balance_after numeric(12, 2),
  kind text not null check (kind in ('purchase', 'usage', 'refund', 'adjustment')),
  description text,
  created_at timestamptz not null default now()
);
create index credit_transactions_user_id_created_at_idx on public.credit_transactions (user_id, created_at);

create table public.usage_records (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  billing_cycle_id uuid references public.billing_cycles (id) on delete set null,
  call_id uuid references public.calls (id) on delete set null,
  metric text not null check (metric in ('call_minutes', 'sms', 'tts_characters', 'llm_tokens')),
  quantity numeric(14, 4) not null,
  recorded_at timestamptz not null default now()
);
create index usage_records_user_id_recorded_at_idx on public.usage_records (user_id, recorded_at);

-- Partitioned by yearly ranges of created_at (plus a DEFAULT partition); the primary key must include the
-- partition key. Child partitions are not separate tables for the policy.
create table public.usage_events (
  id bigserial not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  event_type text not null,
  quantity numeric(14, 4) not null default 1,
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  primary key (id, created_at)
) partition by range (created_at);
create table public.usage_events_2024 partition of public.usage_events
  for values from ('2024-01-01 00:00:00+00') to ('2025-01-01 00:00:00+00');
create table public.usage_events_2025 partition of public.usage_events
  for values from ('2025-01-01 00:00:00+00') to ('2026-01-01 00:00:00+00');
create table public.usage_events_default partition of public.usage_events default;
create index usage_events_user_id_created_at_idx on public.usage_events (user_id, created_at);

-- updated_at triggers ----------------------------------------------------------------
create trigger set_updated_at before update on public.organizations
  for each row execute function public.set_updated_at();
create trigger set_updated_at before update on public.leads
  for each row execute function public.set_updated_at();
create trigger set_updated_at before update on public.contacts
  for each row execute function public.set_updated_at();
create trigger set_updated_at before update on public.campaigns
  for each row execute function public.set_updated_at();
create trigger set_updated_at before update on public.agent_configurations
  for each row execute function public.set_updated_at();
create trigger set_updated_at before update on public.knowledge_base
  for each row execute function public.set_updated_at();

-- Row level security as the app has it today: per user, PERMISSIVE --------------
alter table public.leads enable row level security;

create policy "Users read own leads" on public.leads
  for select to authenticated
  using (user_id = (select auth.uid()));

create policy "Users insert own leads" on public.leads
  for insert to authenticated
  with check (user_id = (select auth.uid()));

create policy "Users update own leads" on public.leads
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

-- Reporting (warden ignores views and materialized views) --------------------------
create view public.call_summary as
select
  c.user_id,
  count(*) as total_calls,
  count(*) filter (where c.status = 'completed') as completed_calls,
  coalesce(sum(c.duration_seconds), 0) as total_seconds,
  coalesce(sum(c.cost), 0) as total_cost,
  max(c.started_at) as last_call_at
from public.calls c
group by c.user_id;

create materialized view public.daily_call_stats as
select
  c.user_id,
  date_trunc('day', c.created_at) as day,
  count(*) as calls,
  coalesce(sum(c.duration_seconds), 0) as seconds
from public.calls c
group by c.user_id, date_trunc('day', c.created_at);
create unique index daily_call_stats_user_id_day_idx on public.daily_call_stats (user_id, day);

-- Grants as a Supabase project has them (RLS decides the rows) ----------------------
grant usage on schema public to anon, authenticated, service_role;
grant all on all tables in schema public to anon, authenticated, service_role;
grant all on all sequences in schema public to anon, authenticated, service_role;
grant all on all functions in schema public to anon, authenticated, service_role;
