--! Previous: sha1:8fa3835323a60cfc130085dee14d57470bdba158
--! Hash: sha1:c57a58258e41f1ca55a97965e5c345ab5cb81015

-- Rate-limit counters shared by every API process (RATE_LIMIT_STORE=postgres):
-- rate-limiter-flexible's RateLimiterPostgres reads and upserts this table,
-- told that it exists (tableCreated) so the API's login never needs CREATE.
-- In platform_backend, which the API never introspects; reached only as the
-- platform admin, through the project's role transactions. The keys are
-- "<limit>:<address or user id>": counters, not a user's data.
drop table if exists platform_backend.rate_limits;
create table platform_backend.rate_limits (
  key varchar(255) primary key,
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
