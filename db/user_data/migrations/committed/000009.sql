--! Previous: sha1:9957391680c93e65bd5ec2eb938d8c3f09e41ec0
--! Hash: sha1:ab49e21bd7b5a9b1329df8374fed5a9499b8ab7b

-- Each user's number of content assets, kept by triggers in the same transaction as the
-- insert or delete, so the API answers a user's `totalCount` of all their assets with one
-- row instead of counting hundreds of thousands (one heavy user's counts took a core).
drop trigger if exists _900_count_assets_truncate on user_data.user_content_assets;
drop trigger if exists _900_count_assets_delete on user_data.user_content_assets;
drop trigger if exists _900_count_assets_insert on user_data.user_content_assets;
drop function if exists user_data_private.tg__count_assets();
-- reason: the idempotent preamble drops only what this migration creates (current.sql re-runs)
-- squawk-ignore ban-drop-table
drop table if exists user_data.user_asset_counts;

create table user_data.user_asset_counts (
  user_id uuid not null default user_data.current_user_id(),
  assets bigint not null check (assets >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint user_asset_counts_pkey primary key (user_id)
);
alter table user_data.user_asset_counts enable row level security;
alter table user_data.user_asset_counts force row level security;
comment on table user_data.user_asset_counts is 'How many content assets each user has, kept equal to their rows in user_content_assets by its triggers (definer rights) in the same transaction; a user without assets has no row.';

grant select on table user_data.user_asset_counts to :DATABASE_AUTHENTICATED;
create trigger _100_timestamps before insert or update on user_data.user_asset_counts
  for each row execute function user_data_private.tg__timestamps();
create trigger _200_user_id_immutable before update on user_data.user_asset_counts
  for each row execute function user_data_private.tg__user_id_immutable();

create policy select_own on user_data.user_asset_counts for select to :DATABASE_AUTHENTICATED
  using (user_id = (select user_data.current_user_id()));
comment on policy select_own on user_data.user_asset_counts is 'A signed-in user reads their own count.';
-- Users have no grant to write counts. The assets' triggers write them with the owner's
-- (definer) rights; the owner bypasses row-level security, so these policies record who
-- writes and for whom (the user whose assets changed) rather than limit it.
create policy insert_by_triggers on user_data.user_asset_counts for insert to :DATABASE_OWNER
  with check (user_id = (select user_data.current_user_id()));
comment on policy insert_by_triggers on user_data.user_asset_counts is 'Only the assets'' triggers (definer rights) write counts.';
create policy update_by_triggers on user_data.user_asset_counts for update to :DATABASE_OWNER
  using (user_id = (select user_data.current_user_id())) with check (user_id = (select user_data.current_user_id()));
comment on policy update_by_triggers on user_data.user_asset_counts is 'Only the assets'' triggers (definer rights) write counts.';
create policy delete_by_triggers on user_data.user_asset_counts for delete to :DATABASE_OWNER
  using (user_id = (select user_data.current_user_id()));
comment on policy delete_by_triggers on user_data.user_asset_counts is 'Only the assets'' triggers (definer rights) write counts; the row goes with the user''s last asset.';

-- One statement's rows at a time (transition tables), users in id order so two
-- statements that touch the same users lock their counts in the same order.
create function user_data_private.tg__count_assets() returns trigger
  language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if tg_op = 'INSERT' then
    insert into user_data.user_asset_counts as c (user_id, assets)
      select user_id, count(*) from added group by user_id order by user_id
      on conflict (user_id) do update set assets = c.assets + excluded.assets;
  elsif tg_op = 'DELETE' then
    -- Two statements: the update re-reads a count another transaction changed meanwhile, and
    -- the delete re-checks for zero, so a concurrent insert's count is never deleted.
    update user_data.user_asset_counts c set assets = c.assets - gone.n
      from (select user_id, count(*) as n from removed group by user_id order by user_id) gone
      where c.user_id = gone.user_id;
    delete from user_data.user_asset_counts c
      where c.assets = 0 and c.user_id in (select user_id from removed);
  else -- TRUNCATE
    delete from user_data.user_asset_counts;
  end if;
  return null;
end
$$;
comment on function user_data_private.tg__count_assets() is 'Keeps user_asset_counts equal to each user''s rows in user_content_assets: adds a statement''s inserts, subtracts its deletes (removing a count that reaches zero), empties all on TRUNCATE. Definer rights: users cannot write counts themselves.';
revoke all on function user_data_private.tg__count_assets() from public;

create trigger _900_count_assets_insert after insert on user_data.user_content_assets
  referencing new table as added for each statement execute function user_data_private.tg__count_assets();
create trigger _900_count_assets_delete after delete on user_data.user_content_assets
  referencing old table as removed for each statement execute function user_data_private.tg__count_assets();
create trigger _900_count_assets_truncate after truncate on user_data.user_content_assets
  for each statement execute function user_data_private.tg__count_assets();

-- The counts of the rows already there; the triggers above hold the table against writes
-- (share row exclusive) until this migration commits, so none is missed.
insert into user_data.user_asset_counts (user_id, assets)
  select user_id, count(*) from user_data.user_content_assets group by user_id;
