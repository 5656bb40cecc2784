--! Previous: sha1:6c10e6e771041e6a437fa87d8a178236bbe81c37
--! Hash: sha1:b060661d8a9b7b79869b72b025d67a59653e04cf

-- Rate-limit counters shared by every API process (RATE_LIMIT_STORE=postgres):
-- rate-limiter-flexible's RateLimiterPostgres reads and upserts this table,
-- told that it exists (tableCreated) so the API's login never needs CREATE.
-- In platform_backend, which the API never introspects; reached only as the
-- platform admin, through the project's role transactions. The keys are
-- "<limit>:<address or user id>": counters, not a user's data.
-- reason: the idempotent preamble drops only what this migration creates (current.sql re-runs)
-- squawk-ignore ban-drop-table
drop table if exists platform_backend.rate_limits;
create table platform_backend.rate_limits (
  -- reason: rate-limiter-flexible's own schema for its PostgreSQL store; its keys are short prefixes and ids
  -- squawk-ignore prefer-text-field
  key varchar(255) primary key,
  -- reason: requests counted in one window, bounded by the rate limit itself
  -- squawk-ignore prefer-bigint-over-int
  points integer not null default 0,
  expire bigint
);
comment on table platform_backend.rate_limits is
  'Requests counted per rate limit and client (address or user id) across API processes; rows whose window ended are deleted by the API every few minutes.';
comment on column platform_backend.rate_limits.key is 'The limit''s prefix and the client it counts, such as user:<uuid> or address:<ip>.';
comment on column platform_backend.rate_limits.points is 'Requests counted in the current window.';
comment on column platform_backend.rate_limits.expire is 'When the current window ends, in milliseconds since the epoch.';
-- The periodic clean-up deletes by expiry.
create index rate_limits_expire_idx on platform_backend.rate_limits (expire);
grant select, insert, update, delete on platform_backend.rate_limits to :DATABASE_PLATFORM_ADMIN;
