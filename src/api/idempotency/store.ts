/**
 * The statements on idempotency.idempotency_keys (the same table in both
 * databases, db/<database>/migrations), run on the transaction that also
 * holds the request's writes, as the signed-in user: row-level security keeps
 * every other user's keys out of sight.
 *
 * Plain statements rather than pgtyped queries: they run on the raw client of
 * PostGraphile's held transaction (held-transactions.ts) or in a plain route's
 * user session, on either database: the same text serves both.
 */
import type { Session } from "../../db/session.ts";
import { keyInUse, keyReused, type IdempotencyError } from "./key.ts";

export interface StoredAnswer {
  readonly requestHash: string;
  readonly statusCode: number;
  /** The body exactly as it was sent. */
  readonly body: string;
}

/**
 * What a request does with its key: run (the key is free), send the stored
 * answer again (the same request was answered before), or be refused: 409
 * while a request with the key still runs, 422 when the key was used for
 * another request. The one place this rule lives, for GraphQL and plain routes.
 */
export type Claim = { kind: "run" } | { kind: "replay"; answer: StoredAnswer } | { kind: "refuse"; error: IdempotencyError };

/**
 * Claims `key` for this transaction. The transaction-level advisory lock makes
 * a second request with the same key, while the first still runs, find it
 * busy at once (409) instead of waiting for it: the lock ends with the first
 * one's transaction, when its key row is committed or gone. The lock's number
 * is a 64-bit hash of user and key; two different keys that collide only make
 * one of them wait for a retry.
 */
export async function claimKey(client: Session, userId: string, key: string, requestHash: string): Promise<Claim> {
  const { rows } = await client.query<{ locked: boolean; request_hash: string | null; status_code: number | null; response_body: string | null }>(
    `with lock as (select pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended($1::text || ' ' || $2::text, 20)) as locked)
     select lock.locked, k.request_hash, k.status_code, k.response_body
       from lock left join idempotency.idempotency_keys k
         on lock.locked and k.user_id = $1::uuid and k.idempotency_key = $2 and k.expires_at > now()`,
    [userId, key],
  );
  const row = rows[0]!;
  if (!row.locked) return { kind: "refuse", error: keyInUse() };
  if (row.request_hash === null) return { kind: "run" };
  if (row.request_hash !== requestHash) return { kind: "refuse", error: keyReused() };
  return { kind: "replay", answer: { requestHash: row.request_hash, statusCode: row.status_code!, body: row.response_body! } };
}

/**
 * Stores the answer with the key, in the transaction that holds the writes:
 * both commit or neither does. A row left by an expired use of the same key
 * is taken over (claimKey saw it as absent).
 */
export async function rememberAnswer(client: Session, userId: string, key: string, answer: StoredAnswer, ttlSeconds: number): Promise<void> {
  const { rowCount } = await client.query(
    `insert into idempotency.idempotency_keys as k (user_id, idempotency_key, request_hash, status_code, response_body, created_at, expires_at)
     values ($1, $2, $3, $4, $5, now(), now() + make_interval(secs => $6))
     on conflict (user_id, idempotency_key) do update
       set request_hash = excluded.request_hash, status_code = excluded.status_code, response_body = excluded.response_body,
           created_at = excluded.created_at, expires_at = excluded.expires_at
       where k.expires_at <= now()`,
    [userId, key, answer.requestHash, answer.statusCode, answer.body, ttlSeconds],
  );
  // Under the lock claimKey took, a live row cannot have appeared; if one did, the write must not commit unrecorded.
  if (rowCount !== 1) throw new Error(`idempotency key ${JSON.stringify(key)} was stored by another request meanwhile`);
}
