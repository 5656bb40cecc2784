/* Idempotency keys past their time, one bounded batch per call (the worker's job). */

/* @name expireIdempotencyKeys */
select platform_backend.expire_idempotency_keys(:maxRows!::integer) as deleted;
