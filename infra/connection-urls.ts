/**
 * Connection URLs in the form src/config.ts reads, always secret: each one
 * carries a password.
 */
import * as pulumi from "@pulumi/pulumi";
import type { SslMode } from "./settings.ts";

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly sslmode: SslMode;
}

export function connectionUrl(
  endpoint: Endpoint,
  user: pulumi.Input<string>,
  password: pulumi.Input<string>,
  database: pulumi.Input<string>,
): pulumi.Output<string> {
  const url = pulumi.all([user, password, database]).apply(([user, password, database]) => {
    const url = new URL(`postgresql://${endpoint.host}`);
    url.port = String(endpoint.port);
    url.username = encodeURIComponent(user);
    url.password = encodeURIComponent(password);
    url.pathname = `/${encodeURIComponent(database)}`;
    url.searchParams.set("sslmode", endpoint.sslmode);
    // node-postgres reads sslmode=require as verify-full unless asked for
    // libpq's meaning, the one the stack's sslmode has for Pulumi's own connection.
    url.searchParams.set("uselibpqcompat", "true");
    return url.toString();
  });
  return pulumi.secret(url);
}
