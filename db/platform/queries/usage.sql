/* Usage. record_usage refuses (SQLSTATE 53400) an event that would take the
   user past their plan's monthly token limit. */

/* @name recordUsage */
select l.id as "id!", l.feature as "feature!", l.tokens_used as "tokens_used!", l.cost_usd as "cost_usd!", l.created_at as "created_at!"
  from platform_backend.record_usage(:userId!, :feature!, :tokensUsed!, coalesce(:costUsd::numeric, 0), coalesce(:metadata::jsonb, '{}')) as l;

/* @name usageThisMonth */
select u.feature as "feature!", u.tokens_used as "tokens_used!", u.cost_usd as "cost_usd!", u.events as "events!"
  from platform.usage_summary() as u;

/* @name monthlyAllowance */
select a.tokens_used as "tokens_used!", a.token_limit, a.tokens_remaining, a.resets_at as "resets_at!"
  from platform.monthly_allowance() as a where a.resets_at is not null;

/* @name ensureUsagePartitions */
select p as "partition!" from platform_backend.ensure_usage_partitions(:monthsAhead!) as p;

/* @name detachUsagePartitions */
select p as "partition!" from platform_backend.detach_usage_partitions(:olderThan!::date) as p;
