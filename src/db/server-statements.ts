/**
 * Prepared statements behind a pooler in transaction mode (DATABASE_POOLER_MODE=transaction).
 *
 * PostGraphile names each of its statements (a hash of the text) and prepares it
 * once per connection; node-postgres remembers, per client connection, which names
 * it has parsed and then sends only Bind/Execute. Behind PgBouncer 1.18 a client
 * connection reaches another server connection in each transaction, so that memory
 * is wrong ("prepared statement … does not exist"); and without names every query
 * is parsed and planned again, which doubled PostgreSQL's CPU per GraphQL request
 * (bench case 6).
 *
 * A server connection stays the same for a whole transaction and its prepared
 * statements outlive the transaction. So each server connection carries a name of
 * its own, a session setting (alwrity.statements) that the statement beginning each
 * transaction reads, and the driver is given, for that transaction, the memory this
 * process keeps for that server connection. One rule keeps the memory true: a
 * server connection gets a new name only together with DEALLOCATE ALL, so under a
 * name this pool has not seen, none of its statements exist. Statement names
 * carry a prefix drawn for each pool, so processes (and pools) sharing a PgBouncer
 * never take each other's for their own. Reading the server's list of prepared
 * statements instead (pg_prepared_statements) was exact but cost about 8 µs of
 * server CPU per statement held, in every transaction.
 *
 * Whatever breaks the rule from outside (a DEALLOCATE or RESET ALL run through the
 * same login) shows up as 26000 or 42P05 in one transaction; its server connection
 * then loses its name, so the next transaction there starts it afresh.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type pg from "pg";

/** The begin statement's extra column: the name of the server connection it reached (null or '' if none yet). */
export const SERVER_CONNECTION_COLUMN = "current_setting('alwrity.statements', true) as server_connection";

/** After a failure that shows the memory was wrong: the server connection loses its name (in the finishing round trip). */
export const FORGET_SERVER_CONNECTION = "select set_config('alwrity.statements', '', false)";

/** 26000: prepared statement does not exist; 42P05: prepared statement already exists. */
export const MEMORY_WAS_WRONG = new Set(["26000", "42P05"]);

/**
 * More statements of this process than this on one server connection and it is
 * started afresh: @dataplan/pg keeps at most 100 per client connection and
 * deallocates the rest, but here client and server connections are not the same.
 */
export const MAX_SERVER_STATEMENTS = 100;

/** Server connections remembered (the oldest unused forgotten first); PgBouncer's pools hold far fewer. */
const MAX_SERVER_CONNECTIONS = 1000;

interface DriverConnection {
  parsedStatements: Record<string, string>;
  submittedNamedStatements: Record<string, string>;
}

const wrongMemory = new WeakSet<pg.ClientBase>();

const driverConnection = (client: pg.ClientBase) => (client as unknown as { connection: DriverConnection }).connection;

/** What one pool knows of the server connections behind it. */
export class ServerStatements {
  private readonly known = new Map<string, Record<string, string>>();
  /** 8 hex digits in place of the first 8 of @dataplan/pg's 63. */
  private readonly prefix = randomBytes(4).toString("hex");

  /**
   * Called right after the begin statement with the name it read: gives the driver
   * this process's memory of that server connection; or, when it has no name yet or
   * holds too many statements, returns what the caller sends, in one message (so on
   * the same server connection), before beginning again: DEALLOCATE ALL and a new
   * name, committed whatever the transaction later does.
   */
  use(client: pg.ClientBase, serverConnection: string | null): string | undefined {
    const connection = driverConnection(client);
    connection.submittedNamedStatements = {};
    const parsed = serverConnection ? this.known.get(serverConnection) : undefined;
    if (serverConnection && !parsed) {
      // Named by another process (or forgotten): none of this process's statements are there.
      this.remember(serverConnection, (connection.parsedStatements = {}));
      return undefined;
    }
    if (!serverConnection || Object.keys(parsed!).length > MAX_SERVER_STATEMENTS) {
      const fresh = randomUUID();
      this.remember(fresh, {});
      // COMMIT closes the implicit transaction of the statements before it (with a warning), so the name stays.
      return `rollback; deallocate all; select set_config('alwrity.statements', '${fresh}', false); commit; `;
    }
    this.remember(serverConnection, parsed!);
    // The driver records what it parses in this object, so the memory grows as statements are prepared.
    connection.parsedStatements = parsed!;
    return undefined;
  }

  /** Whether a statement of this client failed because the memory was wrong (and forgets that it did). */
  memoryWasWrong(client: pg.ClientBase): boolean {
    return wrongMemory.delete(client);
  }

  private remember(serverConnection: string, parsed: Record<string, string>) {
    this.known.delete(serverConnection);
    this.known.set(serverConnection, parsed);
    if (this.known.size > MAX_SERVER_CONNECTIONS) this.known.delete(this.known.keys().next().value!);
  }

  /**
   * A pg.Client whose named statements carry this pool's prefix, and which notes
   * when one fails because the memory was wrong (PostGraphile turns that error into
   * a GraphQL error, so the transaction never sees it). A custom Client class is
   * pg-pool's documented way to change how connections behave.
   */
  clientClass(Base: typeof pg.Client): typeof pg.Client {
    const prefix = this.prefix;
    return class PoolNamedClient extends Base {
      override query(...args: unknown[]): never {
        const first = args[0] as { name?: unknown; submit?: unknown } | undefined;
        const named = !!first && typeof first === "object" && typeof first.name === "string" && typeof first.submit !== "function";
        if (named) args[0] = { ...first, name: prefix + (first.name as string).slice(prefix.length) };
        const result = (super.query as (...a: unknown[]) => unknown).apply(this, args);
        if (named && result instanceof Promise) {
          result.catch((error: { code?: string }) => {
            if (error?.code && MEMORY_WAS_WRONG.has(error.code)) wrongMemory.add(this);
          });
        }
        return result as never;
      }
    };
  }
}
