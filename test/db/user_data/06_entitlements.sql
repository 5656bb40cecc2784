-- Entitlements: written only by the worker role through apply_entitlements
-- (newest version wins), read by their user; projects and personas beyond the
-- plan's limits are refused by the database itself (53400, naming the limit,
-- its value and the plan); a downgrade keeps everything and reports it.
-- Concurrent creates at the limit: test/db/entitlement-limits.test.ts.
begin;
select plan(32);

create temp table ids (a uuid, b uuid, c uuid);
insert into ids values ('a6000000-0000-4000-8000-00000000000a', 'b6000000-0000-4000-8000-00000000000b', 'c6000000-0000-4000-8000-00000000000c');
grant select on ids to public;

-- The worker writes entitlements, through the function only.
select tests.act_as('worker');
select is((select applied from user_data_backend.apply_entitlements((select a from ids), 'Free', 3, 1, 50000, 5)), true, 'the worker stores a user''s entitlements');
select is((select applied from user_data_backend.apply_entitlements((select a from ids), 'Pro', 50, 10, 1000000, 4)), false, 'an older version is ignored');
select is((select applied from user_data_backend.apply_entitlements((select a from ids), 'Free', 3, 1, 50000, 5)), true, 'the same version again is applied (a resync)');
select is((select row(projects, personas)::text from user_data_backend.apply_entitlements((select b from ids), 'Free', 3, 1, 50000, 1)), '(0,0)',
  'and learns how many projects and personas the user has');
select is(user_data_backend.forget_entitlements((select b from ids)), true, 'the worker removes the entitlements of an account being erased');
select is(user_data_backend.forget_entitlements((select b from ids)), false, 'and says when there were none');
select throws_ok('select * from user_data.user_entitlements', '42501', null, 'the worker cannot read the table itself');
select throws_ok('select * from user_data.user_projects', '42501', null, 'nor anyone''s content');
reset role;

-- User A, on Free: 3 projects and 1 persona.
select tests.become((select a from ids));
select is((select plan_name from user_data.user_entitlements), 'Free', 'a user reads their entitlements');
select is((select count(*)::int from user_data.user_entitlements), 1, 'and nobody else''s');
select throws_ok($$ update user_data.user_entitlements set max_projects = 1000 $$, '42501', null, 'a user cannot raise their own limits');
select throws_ok($$ insert into user_data.user_entitlements (user_id, plan_name, version) values ((select c from ids), 'Enterprise', 99) $$, '42501', null,
  'nor write entitlements for anyone');
select throws_ok($$ select user_data_backend.apply_entitlements((select a from ids), 'Enterprise', null, null, null, 100) $$, '42501', null,
  'nor call the worker''s function');
select throws_ok($$ select user_data_backend.forget_entitlements((select a from ids)) $$, '42501', null, 'nor remove them');
select lives_ok($$ insert into user_data.user_projects (project_name, project_type) select 'A project ' || g, 'blog' from generate_series(1, 3) g $$,
  'a Free user creates three projects');
select throws_ok($$ insert into user_data.user_projects (project_name, project_type) values ('A project 4', 'blog') $$,
  '53400', 'project limit reached: the Free plan allows 3 projects (max_projects = 3), and 3 exist',
  'the fourth is refused, naming the limit, its value and the plan');
select lives_ok($$ insert into user_data.user_personas (persona_name) values ('A voice') $$, 'a Free user creates a persona');
select throws_ok($$ insert into user_data.user_personas (persona_name) values ('A second voice') $$,
  '53400', 'persona limit reached: the Free plan allows 1 personas (max_personas = 1), and 1 exist', 'the second persona is refused');
select is((select row(plan_name, max_projects, projects, max_personas, personas, over_limit)::text from user_data.current_entitlements()),
  '(Free,3,3,1,1,f)', 'current_entitlements shows the limits and what is used of them');
reset role;

-- An upgrade reaches the database: more is allowed.
select tests.act_as('worker');
select user_data_backend.apply_entitlements((select a from ids), 'Pro', 50, 10, 1000000, 6);
select tests.become((select a from ids));
select lives_ok($$ insert into user_data.user_projects (project_name, project_type) values ('A project 4', 'blog'), ('A project 5', 'podcast') $$,
  'on Pro the fourth and fifth projects are accepted');
select lives_ok($$ insert into user_data.user_personas (persona_name) values ('A second voice') $$, 'and a second persona');
reset role;

-- A downgrade the data exceeds: accepted, reported, nothing deleted, nothing more created.
select tests.act_as('worker');
select is((select row(applied, projects, personas)::text from user_data_backend.apply_entitlements((select a from ids), 'Free', 3, 1, 50000, 7)), '(t,5,2)',
  'a downgrade is applied, and the worker learns the user now holds 5 projects and 2 personas');
select tests.become((select a from ids));
select is((select row(plan_name, projects, over_limit)::text from user_data.current_entitlements()), '(Free,5,t)', 'the user sees they are over a limit');
select is((select count(*)::int from user_data.user_projects), 5, 'and keeps every project');
select throws_ok($$ insert into user_data.user_projects (project_name, project_type) values ('A project 6', 'blog') $$,
  '53400', 'project limit reached: the Free plan allows 3 projects (max_projects = 3), and 5 exist', 'but cannot create another');
select lives_ok($$ delete from user_data.user_projects where project_name in ('A project 4', 'A project 5', 'A project 3') $$, 'deleting brings them under the limit');
select lives_ok($$ insert into user_data.user_projects (project_name, project_type) values ('A project 6', 'blog') $$, 'after which creating is allowed again');
select throws_ok($$ insert into user_data.user_projects (user_id, project_name, project_type) values ((select b from ids), 'for B', 'blog') $$,
  '42501', 'new row violates row-level security policy for table "user_projects"', 'a row for another user is refused by row-level security, not by the limit');
reset role;

-- No entitlements yet: the Free plan's limits.
select tests.become((select c from ids));
select is((select row(plan_name, max_projects, max_personas)::text from user_data.current_entitlements()), '(Free,3,1)', 'without entitlements a user is held to Free');
select throws_ok($$ insert into user_data.user_projects (project_name, project_type) select 'C ' || g, 'blog' from generate_series(1, 4) g $$,
  '53400', 'project limit reached: the Free plan allows 3 projects (max_projects = 3), and 3 exist', 'even in one statement, the fourth is refused');
reset role;

-- Unlimited plans (null limits).
select tests.act_as('worker');
select user_data_backend.apply_entitlements((select c from ids), 'Enterprise', null, null, null, 1);
select tests.become((select c from ids));
select lives_ok($$ insert into user_data.user_projects (project_name, project_type) select 'C ' || g, 'blog' from generate_series(1, 60) g $$, 'Enterprise has no project limit');
select tests.act_as('anyUser');
select is((select count(*)::int from user_data.current_entitlements() where plan_name is not null), 0, 'without a signed-in user there are no entitlements to show');
reset role;

select * from finish();
rollback;
