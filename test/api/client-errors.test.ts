/**
 * Bad client input against the real API in production mode: every SQLSTATE of
 * classes 22 (data) and 23 (integrity) answers its code and a fixed message
 * naming the field or argument, never "Internal error", a constraint, a table
 * or the value sent; an anonymous request the grants refuse is told to sign
 * in, and the fields documented as null for anonymous callers are null.
 * Development keeps the database's words (test/api/modes.test.ts).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { giveUnlimitedPlan } from "../support/unlimited-plan.ts";
import { testDeployment } from "../support/test-deployment.ts";
import { startTestApi, type TestApi } from "./api-harness.ts";

const run = randomUUID().slice(0, 8);
let api: TestApi;
let token: string;
let projectId: string;

const createProject = `mutation ($name: String!, $meta: JSON) { createProject(input: { project: { projectName: $name, projectType: BLOG, projectMetadata: $meta } }) { project { rowId } } }`;
const createPersona = `mutation ($name: String!) { createPersona(input: { persona: { personaName: $name } }) { persona { rowId } } }`;

beforeAll(async () => {
  api = await startTestApi({ ENVIRONMENT: "production", API_HOST: "127.0.0.1" });
  token = api.token({ sub: `user_input_${run}` });
  expect((await api.gql("{ currentUser { rowId } }", {}, token)).errors).toBeUndefined();
  // Unlimited, so that a second persona meets the unique name and not the plan's limit.
  const { platform, userData } = testDeployment().databases;
  await giveUnlimitedPlan({ platform: platform.migrationUrl, userData: userData.migrationUrl }, `user_input_${run}`);
  projectId = (await api.gql(createProject, { name: "kept" }, token)).data.createProject.project.rowId;
  expect((await api.gql(createPersona, { name: "Taken" }, token)).errors).toBeUndefined();
}, 120_000);
afterAll(() => api?.stop());

interface BadInput {
  query: string;
  variables?: Record<string, unknown>;
  code: string;
  message: string;
  field?: string;
  argument?: string;
}

const BAD_INPUTS: Record<string, BadInput> = {
  "a day that does not exist": {
    query: `{ usageMonthlyTotal(month: "2026-02-30") { month } }`,
    code: "22008",
    message: "A date or time is out of range (no such date or time) (argument month of usageMonthlyTotal)",
    argument: "month",
  },
  "a month that does not exist": {
    query: `{ usageMonthlyTotal(month: "2026-13-01") { month } }`,
    code: "22008",
    message: "A date or time is out of range (no such date or time) (argument month of usageMonthlyTotal)",
    argument: "month",
  },
  "a date that is not one": {
    query: `{ usageMonthlyTotal(month: "someday") { month } }`,
    code: "22007",
    message: "A date or time is malformed (argument month of usageMonthlyTotal)",
    argument: "month",
  },
  "a timestamp that does not exist, among two arguments": {
    query: `{ usageLog(createdAt: "2026-02-30T00:00:00Z", rowId: "1") { rowId } }`,
    code: "22008",
    message: "A date or time is out of range (no such date or time) (argument createdAt of usageLog)",
    argument: "createdAt",
  },
  "a rowId of 20 digits": {
    query: `{ usageLog(createdAt: "2026-01-01T00:00:00Z", rowId: "99999999999999999999") { rowId } }`,
    code: "22003",
    message: "A number is out of range (argument rowId of usageLog)",
    argument: "rowId",
  },
  "a NUL byte in a project's name": {
    query: createProject,
    variables: { name: "a\u0000b" },
    code: "22021",
    message: "A text value holds a character that cannot be stored (such as a NUL byte) (argument input of createProject)",
    argument: "input",
  },
  "a NUL character in JSON": {
    query: createProject,
    variables: { name: "json", meta: { note: "a\u0000b" } },
    code: "22P05",
    message: "A JSON value holds a character that cannot be stored (such as \\u0000) (argument input of createProject)",
    argument: "input",
  },
  "an empty project name (a check)": {
    query: createProject,
    variables: { name: "" },
    code: "23514",
    message: "A value is out of range or malformed (field projectName)",
    field: "projectName",
  },
  "an over-long project name (a check)": {
    query: createProject,
    variables: { name: "x".repeat(201) },
    code: "23514",
    message: "A value is out of range or malformed (field projectName)",
    field: "projectName",
  },
  "a persona name taken (unique)": {
    query: createPersona,
    variables: { name: "Taken" },
    code: "23505",
    message: "A record with these values already exists (field personaName)",
    field: "personaName",
  },
  "an asset of no project (foreign key)": {
    query: `mutation { createAsset(input: { asset: { projectId: "00000000-0000-4000-8000-000000000000", assetType: BLOG_POST } }) { asset { rowId } } }`,
    code: "23503",
    message: "A referenced record does not exist or is not yours (field projectId)",
    field: "projectId",
  },
};

describe("production answers bad input with its SQLSTATE and a safe message naming the field or argument", () => {
  test.each(Object.entries(BAD_INPUTS))("%s", async (_name, bad) => {
    const { status, errors } = await api.gql(bad.query, bad.variables ?? {}, token);
    expect(status).toBe(200);
    expect(errors).toHaveLength(1);
    const [error] = errors!;
    expect(error!.message).toBe(bad.message);
    expect(error!.extensions).toEqual({
      code: bad.code,
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      ...(bad.field ? { field: bad.field } : {}),
      ...(bad.argument ? { argument: bad.argument } : {}),
    });
    // No internals: no constraint, table, type or the value sent; and it is not a fault (no errorId).
    expect(error!.message).not.toMatch(/constraint|user_|relation|bigint|UTF8|2026|9999|Internal error/);
  });

  test("a required value set to null (not null) names the field", async () => {
    const { errors } = await api.gql(
      `mutation ($id: UUID!) { updateProject(input: { rowId: $id, patch: { projectName: null } }) { project { rowId } } }`,
      { id: projectId },
      token,
    );
    expect(errors?.[0]).toMatchObject({ message: "A required value is missing (field projectName)", extensions: { code: "23502", field: "projectName" } });
  });
});

describe("anonymous requests", () => {
  test("a field that needs a signed-in user answers UNAUTHENTICATED, not the database's permission error", async () => {
    for (const query of ["{ projects { totalCount } }", "{ currentProfile { id } }", "{ myPlanChanges { totalCount } }"]) {
      const { status, errors } = await api.gql(query);
      expect(status, query).toBe(200);
      expect(errors?.[0]?.message, query).toBe("Sign in required: this field needs a signed-in user (Authorization: Bearer <token>)");
      expect(errors?.[0]?.extensions, query).toMatchObject({ code: "UNAUTHENTICATED", reason: "sign-in-required" });
    }
  });

  test("currentUser and monthlyAllowance are null for anonymous callers, as documented, without an error", async () => {
    const { data, errors } = await api.gql("{ currentUser { rowId } monthlyAllowance { tokensUsed } subscriptionPlans { totalCount } }");
    expect(errors).toBeUndefined();
    expect(data).toEqual({ currentUser: null, monthlyAllowance: null, subscriptionPlans: { totalCount: 3 } });
  });
});
