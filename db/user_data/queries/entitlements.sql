/* Entitlements: written by the worker role through the backend function. */

/* @name applyEntitlements */
select a.applied as "applied!", a.projects as "projects!", a.personas as "personas!"
  from user_data_backend.apply_entitlements(:userId!, :planName!, :maxProjects, :maxPersonas, :monthlyTokens, :version!) as a;

/* @name currentEntitlements */
select e.plan_name, e.max_projects, e.projects, e.max_personas, e.personas, e.over_limit
  from user_data.current_entitlements() as e;

/* @name forgetEntitlements */
select user_data_backend.forget_entitlements(:userId!) as "forgotten!";
