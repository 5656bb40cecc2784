--! Previous: sha1:ac291ad1b84572d6e8d13a4dbae87491f032b0c9
--! Hash: sha1:9957391680c93e65bd5ec2eb938d8c3f09e41ec0

-- Idempotency keys (docs/retries.md): a client that retries a write after an
-- ambiguous failure (a 503 whose commit may have happened) sends the same
-- Idempotency-Key header; the API stores the key with its answer in the same
-- transaction as the write, so a retry finds either the stored answer (it
-- committed) or nothing (it did not) and runs afresh.
-- A schema of its own, which the API does not introspect: the table is the
-- API's bookkeeping, not something clients query. The same schema and table
-- exist in the platform database, so the API's statements are the same on both.
-- Self-contained: drops what it creates first.

drop function if exists user_data_backend.expire_idempotency_keys(integer);
-- reason: the idempotent preamble drops only what this migration creates (current.sql re-runs)
-- squawk-ignore ban-drop-table
drop table if exists idempotency.idempotency_keys;
drop schema if exists idempotency;

create schema idempotency;
comment on schema idempotency is 'Idempotency keys of signed-in users'' requests and the answers given; read and written by the API, never exposed in GraphQL.';
grant usage on schema idempotency to :DATABASE_AUTHENTICATED;

create table idempotency.idempotency_keys (
  user_id uuid not null default user_data.current_user_id(),
  idempotency_key text not null check (length(idempotency_key) between 1 and 255),
  request_hash text not null check (request_hash ~ '^[0-9a-f]{64}$'),
  -- reason: an HTTP status (100-599, checked) never nears int's limit
  -- squawk-ignore prefer-bigint-over-int
  status_code integer not null check (status_code between 100 and 599),
  response_body text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (user_id, idempotency_key),
  check (expires_at > created_at)
);
comment on table idempotency.idempotency_keys is
  'One row per request a signed-in user sent with an Idempotency-Key header and whose writes committed here: the answer it got, replayed to a retry with the same key and body. Written in the same transaction as the request''s writes.';
comment on column idempotency.idempotency_keys.idempotency_key is 'The Idempotency-Key header as the client sent it (1 to 255 printable characters); unique per user.';
comment on column idempotency.idempotency_keys.request_hash is 'SHA-256 (hex) of the request in canonical JSON (RFC 8785): the same key with another hash is refused.';
comment on column idempotency.idempotency_keys.status_code is 'The HTTP status of the stored answer.';
comment on column idempotency.idempotency_keys.response_body is 'The answer''s body exactly as sent (JSON text), replayed byte for byte.';
comment on column idempotency.idempotency_keys.expires_at is 'After this the key is forgotten: a lookup ignores the row and expire_idempotency_keys deletes it.';

-- reason: idempotency.idempotency_keys is created empty in this same migration
-- squawk-ignore require-concurrent-index-creation
create index idempotency_keys_expires_at_idx on idempotency.idempotency_keys (expires_at);
comment on index idempotency.idempotency_keys_expires_at_idx is 'Finds the oldest expired keys first, in batches, without reading the rest of the table.';

create trigger _200_user_id_immutable before update on idempotency.idempotency_keys
  for each row execute function user_data_private.tg__user_id_immutable();

alter table idempotency.idempotency_keys enable row level security;
alter table idempotency.idempotency_keys force row level security;
create policy select_own on idempotency.idempotency_keys for select to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()));
create policy insert_own on idempotency.idempotency_keys for insert to :DATABASE_AUTHENTICATED
  with check (user_id = (select user_data.current_user_id()));
create policy update_own on idempotency.idempotency_keys for update to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()))
  with check (user_id = (select user_data.current_user_id()));
create policy delete_own on idempotency.idempotency_keys for delete to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()));
comment on policy select_own on idempotency.idempotency_keys is 'A signed-in user finds only their own keys: another user''s key is as good as absent.';
comment on policy insert_own on idempotency.idempotency_keys is 'A key is stored for the signed-in user only.';
comment on policy update_own on idempotency.idempotency_keys is 'Only the user''s own expired key is taken over by a new request.';
comment on policy delete_own on idempotency.idempotency_keys is 'A user may forget their own keys.';
grant select, delete on idempotency.idempotency_keys to :DATABASE_AUTHENTICATED;
grant insert (user_id, idempotency_key, request_hash, status_code, response_body, created_at, expires_at),
      update (request_hash, status_code, response_body, created_at, expires_at)
  on idempotency.idempotency_keys to :DATABASE_AUTHENTICATED;

create function user_data_backend.expire_idempotency_keys(max_rows integer) returns integer
  language sql
  volatile
  security definer
  set search_path = pg_catalog, pg_temp
as $$
  with gone as (
    delete from idempotency.idempotency_keys k
     where (k.user_id, k.idempotency_key) in (
       select e.user_id, e.idempotency_key from idempotency.idempotency_keys e
        where e.expires_at <= now() order by e.expires_at limit greatest(max_rows, 0))
    returning 1)
  select count(*)::integer from gone
$$;
comment on function user_data_backend.expire_idempotency_keys(integer) is
  'Deletes up to max_rows expired idempotency keys, oldest first, and answers how many. For the expire_idempotency_keys job (worker role), which calls it until fewer come back.';
revoke all on function user_data_backend.expire_idempotency_keys(integer) from public;
grant execute on function user_data_backend.expire_idempotency_keys(integer) to :DATABASE_WORKER;
