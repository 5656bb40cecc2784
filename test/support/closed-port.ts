/** Database URLs that cannot be reached: a local port nothing listens on. */
import { freePort } from "../../src/bootstrap/embedded-server.ts";

/** `url` with its host and port replaced by a local port nothing listens on. */
export async function unreachable(url: string): Promise<string> {
  const u = new URL(url);
  u.hostname = "127.0.0.1";
  u.port = String(await freePort());
  return u.toString();
}
