/* Erasure, one bounded batch per statement: run as the user being erased,
   so row-level security itself keeps every other user's rows out of reach.
   Children before parents (assets name projects and personas). */

/* The answers stored for the user's retries (idempotency keys) hold their content too. */

/* @name eraseIdempotencyKeysBatch */
delete from idempotency.idempotency_keys where (user_id, idempotency_key) in
  (select k.user_id, k.idempotency_key from idempotency.idempotency_keys k where k.user_id = :userId! limit :batch!)
returning idempotency_key as id;

/* @name eraseAssetsBatch */
delete from user_data.user_content_assets where (user_id, id) in
  (select a.user_id, a.id from user_data.user_content_assets a where a.user_id = :userId! limit :batch!)
returning id;

/* @name erasePersonasBatch */
delete from user_data.user_personas where (user_id, id) in
  (select p.user_id, p.id from user_data.user_personas p where p.user_id = :userId! limit :batch!)
returning id;

/* @name eraseProjectsBatch */
delete from user_data.user_projects where (user_id, id) in
  (select p.user_id, p.id from user_data.user_projects p where p.user_id = :userId! limit :batch!)
returning id;

/* @name eraseProfile */
delete from user_data.user_profiles where user_id = :userId! returning user_id;
