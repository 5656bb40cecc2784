/**
 * Reading the stack configuration (infra/settings.ts): defaults, the
 * production default for protection, and refusing keys the program would
 * silently ignore. Runs readSettings directly under mocks, one stack at a time.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect, test } from "vitest";
import { readSettings } from "../../infra/settings.ts";
import { PROJECT } from "./support/run-program.ts";

async function settingsFor(stack: string, config: Record<string, string>) {
  await pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs }, PROJECT, stack, false);
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [`${PROJECT}:${k}`, v])));
  return readSettings();
}

test("only host and the admin password are required; the rest has safe defaults", async () => {
  const settings = await settingsFor("dev", { host: "db.internal", adminPassword: "pw" });
  expect({ ...settings, adminPassword: undefined }).toEqual({
    host: "db.internal",
    port: 5432,
    adminUser: "postgres",
    adminPassword: undefined,
    adminDatabase: "postgres",
    sslmode: "require",
    superuser: true,
    envPrefix: "",
    protect: false,
    appHost: "db.internal",
    appPort: 5432,
    appSslmode: "require",
    appPoolerMode: "session",
  });
  expect(await pulumi.isSecret(settings.adminPassword)).toBe(true);
});

test("a stack named production is protected unless its configuration says otherwise", async () => {
  expect((await settingsFor("production", { host: "h", adminPassword: "pw" })).protect).toBe(true);
  expect((await settingsFor("production", { host: "h", adminPassword: "pw", protect: "false" })).protect).toBe(false);
  expect((await settingsFor("staging", { host: "h", adminPassword: "pw", protect: "true" })).protect).toBe(true);
});

test("a misspelt key stops the program instead of being ignored", async () => {
  await expect(settingsFor("dev", { host: "h", adminPassword: "pw", sslMode: "disable" })).rejects.toThrow(/Unknown configuration key\(s\) sslMode/);
});

test("an sslmode PostgreSQL does not know is refused", async () => {
  await expect(settingsFor("dev", { host: "h", adminPassword: "pw", sslmode: "on" })).rejects.toThrow(/sslmode/);
});

test("the admin password is required", async () => {
  await expect(settingsFor("dev", { host: "h" })).rejects.toThrow(/adminPassword/);
});

test("the Clerk webhook secret is optional, secret even when set in the clear, and must look like one", async () => {
  expect((await settingsFor("dev", { host: "h", adminPassword: "pw" })).clerkWebhookSecret).toBeUndefined();
  const settings = await settingsFor("dev", { host: "h", adminPassword: "pw", clerkWebhookSecret: "whsec_c2VjcmV0LXNpZ25pbmcta2V5" });
  expect(await pulumi.isSecret(settings.clerkWebhookSecret!)).toBe(true);
  await expect(settingsFor("dev", { host: "h", adminPassword: "pw", clerkWebhookSecret: "sk_test_not-a-webhook-secret" })).rejects.toThrow(
    /clerkWebhookSecret must be the webhook endpoint's signing secret/,
  );
});
