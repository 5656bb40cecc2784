/**
 * The Clerk webhook signing secret goes through the Pulumi program: a secret
 * stack setting (clerkWebhookSecret) becomes the secret output
 * CLERK_WEBHOOK_SECRET, which the API reads as it is, and reaches no resource.
 */
import { beforeAll, expect, test } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { isSecret, runProgram, valueOf, type ProgramRun } from "./support/run-program.ts";

const SECRET = "whsec_dGhlLXN0YWNrcy13ZWJob29rLXNlY3JldA==";
let run: ProgramRun;

beforeAll(async () => {
  run = await runProgram("staging", { host: "db.internal", adminPassword: "admin-secret", clerkWebhookSecret: SECRET }, ["adminPassword", "clerkWebhookSecret"]);
});

test("the webhook secret is a secret output, with the value the stack holds", async () => {
  expect(await isSecret(run.outputs.CLERK_WEBHOOK_SECRET!)).toBe(true);
  expect(await valueOf(run.outputs.CLERK_WEBHOOK_SECRET!)).toBe(SECRET);
});

test("the API accepts the output as its CLERK_WEBHOOK_SECRET", async () => {
  const config = loadConfig({ ENVIRONMENT: "test", CLERK_WEBHOOK_SECRET: await valueOf(run.outputs.CLERK_WEBHOOK_SECRET!) });
  expect(config.clerk.webhookSecret).toBe(SECRET);
});

test("the secret is handed to the API only: no database resource receives it", () => {
  expect(run.resources.length).toBeGreaterThan(0);
  for (const r of run.resources) expect(JSON.stringify(r.inputs), r.urn).not.toContain(SECRET);
});
