/**
 * A LISTEN on one channel over a connection of its own, reconnecting after
 * any loss. The owner hears when it is (and is not) listening: a notification
 * sent while no connection listened is lost, so whatever relies on them must
 * stop trusting what it cached until the listener is back.
 */
import pg from "pg";
import type { Logger } from "../log.ts";

export interface Listener {
  close(): Promise<void>;
}

export interface ListenHandlers {
  onNotify(payload: string): void;
  onListening(listening: boolean): void;
}

export function listen(url: string, channel: string, handlers: ListenHandlers, log: Logger, retryMs = 1000): Listener {
  let closed = false;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;

  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: url, application_name: "alwrity-listener" });
    client = c;
    const lost = (reason: string) => {
      if (client !== c) return;
      client = undefined;
      handlers.onListening(false);
      void c.end().catch(() => undefined);
      if (!closed) {
        log("listener_lost", { channel, reason });
        timer = setTimeout(() => void connect(), retryMs);
        timer.unref();
      }
    };
    c.on("error", (error) => lost(error.message));
    c.on("end", () => lost("connection ended"));
    c.on("notification", (message) => {
      if (message.channel === channel) handlers.onNotify(message.payload ?? "");
    });
    try {
      await c.connect();
      await c.query(`listen ${c.escapeIdentifier(channel)}`);
      if (client === c && !closed) handlers.onListening(true);
    } catch (error) {
      lost((error as Error).message);
    }
  };
  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      const c = client;
      client = undefined;
      handlers.onListening(false);
      await c?.end().catch(() => undefined);
    },
  };
}
