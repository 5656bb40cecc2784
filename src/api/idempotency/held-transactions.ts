/**
 * For a GraphQL request with an Idempotency-Key: one transaction held for the
 * whole request, so that every write it makes and its stored answer commit
 * together or not at all.
 *
 * The first withPgClient of the request (pg-adaptor.ts) opens the transaction
 * through the database handle, the one way in (withSettingsClient: who is
 * asking, the request's fair share of the pool, the post-commit check), and
 * claims the key in it (idempotency-store.ts). Every later withPgClient of the
 * request runs inside it, on the same connection, one at a time, each in a
 * savepoint, with PostGraphile's own transactions as savepoints within. When Grafast has produced the
 * whole answer, the middleware (idempotency-plugin.ts) stores it and commits,
 * and only then sends it; or rolls back and sends no success.
 *
 * A request may use one database only: two databases cannot commit together,
 * and a key stored in one of them would claim for the other a commit that may
 * not have happened.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type pg from "pg";
import type { WithPgClient } from "postgraphile/@dataplan/pg";
import { makeWithPgClientViaPgClientAlreadyInTransaction, type NodePostgresPgClient } from "postgraphile/adaptors/pg";
import type { TransactionSettings } from "../../db/asking.ts";
import type { UserScopedDatabase } from "../../db/database.ts";
import { IdempotencyError } from "./key.ts";
import { claimKey, type StoredAnswer } from "./store.ts";

/** One database's transaction, held open until the request ends it. */
interface Held {
  readonly database: string;
  readonly withPgClient: WithPgClient<NodePostgresPgClient>;
  /** Runs `last` in the transaction and commits; without `last`, rolls back. Rejects when the commit failed. */
  end(last?: (client: pg.PoolClient) => Promise<void>): Promise<void>;
}

/** Thrown from withPgClient when the key's stored answer is to be sent instead: the request's work stops there. */
export class ReplayInstead extends Error {
  override name = "ReplayInstead";
  readonly answer: StoredAnswer;
  constructor(answer: StoredAnswer) {
    super("this request was answered before; its stored answer is sent instead");
    this.answer = answer;
  }
}

/** Rejects the held transaction's callback, which rolls it back; never leaves this file. */
class RolledBack extends Error {}

export class IdempotentRequest {
  readonly userId: string;
  readonly key: string;
  readonly requestHash: string;
  /** Why the request stopped before its work was done (a stored answer, a busy key, two databases). */
  stopped: ReplayInstead | IdempotencyError | undefined;
  private opening: { database: string; held: Promise<Held> } | undefined;

  constructor(userId: string, key: string, requestHash: string) {
    this.userId = userId;
    this.key = key;
    this.requestHash = requestHash;
  }

  /** PostGraphile's withPgClient for `database`, inside the request's held transaction. */
  async withPgClient<T>(database: UserScopedDatabase, settings: TransactionSettings, callback: (client: NodePostgresPgClient) => T | Promise<T>): Promise<T> {
    if (this.stopped) throw this.stopped;
    if (!this.opening) this.opening = { database: database.name, held: this.hold(database, settings) };
    else if (this.opening.database !== database.name) {
      throw this.stop(
        new IdempotencyError(
          "IDEMPOTENCY_KEY_TWO_DATABASES",
          422,
          `a request with an Idempotency-Key may use one database, and this one used ${this.opening.database} and ${database.name}: send its parts as separate requests, each with its own key`,
        ),
      );
    }
    const held = await this.opening.held;
    // With settings, each call runs in a savepoint of its own (set_config again, to the same values):
    // a statement that fails in one (a read PostGraphile does not wrap) undoes that call only, and
    // the request's answer, with its error, can still be stored and committed.
    return held.withPgClient({ ...settings }, callback);
  }

  /** Commits the held transaction (if any) after `last` ran in it; rejects when the commit failed. */
  async commit(last: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const held = await this.opened();
    await held?.end(last);
  }

  /** Rolls the held transaction (if any) back. */
  async rollback(): Promise<void> {
    const held = await this.opened();
    await held?.end();
  }

  private async opened(): Promise<Held | undefined> {
    try {
      return await this.opening?.held;
    } catch {
      return undefined; // it never opened, or was rolled back as it opened (a stored answer, a busy key)
    }
  }

  private stop(reason: ReplayInstead | IdempotencyError): ReplayInstead | IdempotencyError {
    this.stopped ??= reason;
    return this.stopped;
  }

  /** Opens the transaction and claims the key in it; resolves once both are done, while the transaction stays open. */
  private hold(database: UserScopedDatabase, settings: TransactionSettings): Promise<Held> {
    return new Promise<Held>((resolveHeld, rejectHeld) => {
      let finish!: (last: ((client: pg.PoolClient) => Promise<void>) | undefined) => void;
      const finished = new Promise<((client: pg.PoolClient) => Promise<void>) | undefined>((resolve) => (finish = resolve));
      const transaction = database.withSettingsClient(settings, async (client) => {
        const claim = await claimKey(client, this.userId, this.key, this.requestHash);
        if (claim.kind === "refuse") throw this.stop(claim.error);
        if (claim.kind === "replay") throw this.stop(new ReplayInstead(claim.answer));
        resolveHeld({
          database: database.name,
          withPgClient: makeWithPgClientViaPgClientAlreadyInTransaction(client, true),
          end: async (last) => {
            finish(last);
            try {
              await transaction;
            } catch (error) {
              if (!(error instanceof RolledBack)) throw error;
            }
          },
        });
        const last = await finished;
        if (!last) throw new RolledBack();
        await last(client);
      });
      // Before the transaction opened (no connection, a busy key, a stored answer): the caller hears why.
      transaction.catch(rejectHeld);
    });
  }
}

/** The idempotent request being served, if the request carries a key. */
export const idempotentRequest = new AsyncLocalStorage<IdempotentRequest>();
