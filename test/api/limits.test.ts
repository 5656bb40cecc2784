/**
 * What one request may ask for, over HTTP against the real server with the
 * default limits: depth, aliases, root fields, estimated cost and page sizes,
 * each at, just under and just over its default.
 */
import { randomUUID } from "node:crypto";
import { connect } from "../support/connect.ts";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestApi, type TestApi } from "./api-harness.ts";
import { testDeployment } from "../support/test-deployment.ts";

let api: TestApi;
let token: string;
const ROWS = 25; // more than the default page of 20
let projectId: string;

beforeAll(async () => {
  api = await startTestApi();
  token = api.token({ sub: `user_limits_${randomUUID().slice(0, 8)}` });
  const created = await api.gql(`mutation { createProject(input: { project: { projectName: "limits", projectType: BLOG } }) { project { rowId userId } } }`, {}, token);
  expect(created.errors).toBeUndefined();
  const project = created.data.createProject.project;
  projectId = project.rowId;
  await connect(testDeployment().adminUrlFor("userData"), (admin) =>
    admin.query(
      `insert into user_data.user_content_assets (user_id, project_id, asset_type, title)
       select $1, $2, 'blog_post', 'asset ' || n from generate_series(1, $3::int) n`,
      [project.userId, project.rowId, ROWS],
    ),
  );
});
afterAll(() => api?.stop());

function expectLimit(result: { status: number; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }, setting: string, max: number, found: number) {
  expect(result.errors).toHaveLength(1);
  expect(result.errors![0]!.extensions).toMatchObject({ code: "OPERATION_LIMIT", limit: setting, max, found });
  expect(result.errors![0]!.message).toContain(setting);
  expect(result.errors![0]!.message).toContain(String(max));
}

/** A selection `depth` levels deep (leaf fields count as a level), following asset -> project -> assets. */
function nested(depth: number): string {
  const path = ["assets(first: 1)", "nodes", "project"];
  let open = "";
  let close = "";
  for (let level = 0; level < depth - 1; level++) {
    open += `${path[level % 3]} { `;
    close += " }";
  }
  const leaf = (depth - 2) % 3 === 0 ? "totalCount" : "rowId";
  return `{ ${open}${leaf}${close} }`;
}

describe("depth (API_MAX_DEPTH, default 10)", () => {
  test.each([9, 10])("%i levels run", async (depth) => {
    const result = await api.gql(nested(depth), {}, token);
    expect(result.errors).toBeUndefined();
  });
  test("11 levels are refused before they run", async () => {
    expectLimit(await api.gql(nested(11), {}, token), "API_MAX_DEPTH", 10, 11);
  });
});

describe("aliases (API_MAX_ALIASES, default 15)", () => {
  const aliased = (n: number) => `{ currentUser { ${Array.from({ length: n }, (_, i) => `a${i}: rowId`).join(" ")} } }`;
  test.each([14, 15])("%i aliases run", async (n) => {
    expect((await api.gql(aliased(n), {}, token)).errors).toBeUndefined();
  });
  test("16 aliases are refused", async () => {
    expectLimit(await api.gql(aliased(16), {}, token), "API_MAX_ALIASES", 15, 16);
  });
});

describe("root fields (API_MAX_ROOT_FIELDS, default 10)", () => {
  const roots = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `r${i}: currentUser { rowId }`).join(" ")} }`;
  test.each([9, 10])("%i root fields run", async (n) => {
    expect((await api.gql(roots(n), {}, token)).errors).toBeUndefined();
  });
  test("11 root fields are refused", async () => {
    expectLimit(await api.gql(roots(11), {}, token), "API_MAX_ROOT_FIELDS", 10, 11);
  });
});

describe("estimated cost (API_MAX_COST, default 5000)", () => {
  // Each field costs 1 and what is under a connection's nodes costs once per row of its page:
  // projects(first: 24) { nodes { assets(first: 100) { nodes { rowId } } } } = 1 + 24 * (1 + 1 + 100 * 2) = 4849,
  // assets(first: 75) { nodes { rowId } } = 1 + 75 * 2 = 151, and a totalCount costs 1.
  const big = "projects(first: 24) { nodes { assets(first: 100) { nodes { rowId } } } }";
  test("cost 5000 runs", async () => {
    expect((await api.gql(`{ ${big} assets(first: 75) { nodes { rowId } } }`, {}, token)).errors).toBeUndefined();
  });
  test("cost 4999 runs", async () => {
    expect((await api.gql(`{ ${big} assets(first: 74) { totalCount nodes { rowId } } }`, {}, token)).errors).toBeUndefined();
  });
  test("cost 5001 is refused before it runs", async () => {
    expectLimit(await api.gql(`{ ${big} assets(first: 75) { totalCount nodes { rowId } } }`, {}, token), "API_MAX_COST", 5000, 5001);
  });
  test("a page size given by a variable counts as the largest page", async () => {
    // 1 + 24 * (2 + 100 * 2) + (1 + 100 * 2) = 5050: over, whatever $n turns out to be.
    const result = await api.gql(`query ($n: Int) { ${big} assets(first: $n) { nodes { rowId } } }`, { n: 1 }, token);
    expectLimit(result, "API_MAX_COST", 5000, 5050);
  });
});

describe("page sizes (API_DEFAULT_PAGE_SIZE 20, API_MAX_PAGE_SIZE 100)", () => {
  test("a list without first or last returns the default page, and says there is more", async () => {
    const { data, errors } = await api.gql(`{ assets { totalCount nodes { rowId } pageInfo { hasNextPage endCursor } } }`, {}, token);
    expect(errors).toBeUndefined();
    expect(data.assets.totalCount).toBe(ROWS);
    expect(data.assets.nodes).toHaveLength(20);
    expect(data.assets.pageInfo.hasNextPage).toBe(true);
    // Keyset pagination walks on from the cursor.
    const next = await api.gql(`query ($after: Cursor) { assets(after: $after) { nodes { rowId } pageInfo { hasNextPage } } }`, { after: data.assets.pageInfo.endCursor }, token);
    expect(next.data.assets.nodes).toHaveLength(ROWS - 20);
    expect(next.data.assets.pageInfo.hasNextPage).toBe(false);
  });

  test("last alone is not capped by the default first", async () => {
    const { data, errors } = await api.gql(`{ assets(last: 3) { nodes { title } } }`, {}, token);
    expect(errors).toBeUndefined();
    expect(data.assets.nodes).toHaveLength(3);
  });

  test.each([99, 100])("first: %i is accepted (a nested list too)", async (n) => {
    const { data, errors } = await api.gql(`query ($n: Int, $id: UUID!) { assets(first: $n) { nodes { rowId } } project(rowId: $id) { assets(first: $n) { totalCount } } }`, { n, id: projectId }, token);
    expect(errors).toBeUndefined();
    expect(data.assets.nodes).toHaveLength(ROWS);
  });

  test.each([
    ["first", "literal", `{ assets(first: 101) { nodes { rowId } } }`, {}],
    ["first", "variable", `query ($n: Int) { assets(first: $n) { nodes { rowId } } }`, { n: 101 }],
    ["last", "literal", `{ assets(last: 101) { nodes { rowId } } }`, {}],
    ["first", "nested", `query ($id: UUID!) { project(rowId: $id) { assets(first: 1000000) { totalCount } } }`, {}],
  ])("%s: above 100 (%s) is refused with an error naming the limit, never cut short", async (argument, _, query, variables) => {
    const { data, errors } = await api.gql(query, { id: projectId, ...variables }, token);
    expect(errors?.[0]?.message).toMatch(new RegExp(`^\`${argument}\` is \\d+, above the maximum page size of 100 \\(API_MAX_PAGE_SIZE\\)`));
    expect(errors?.[0]?.extensions?.code).toBe("PAGE_SIZE_LIMIT");
    expect(JSON.stringify(data ?? null)).not.toContain("rowId");
  });
});

describe("offsets (API_MAX_OFFSET, default 1000)", () => {
  test.each([999, 1000])("offset: %i is accepted (a page past the end is empty)", async (n) => {
    const { data, errors } = await api.gql(`query ($n: Int) { assets(offset: $n, first: 5) { nodes { rowId } } }`, { n }, token);
    expect(errors).toBeUndefined();
    expect(data.assets.nodes).toEqual([]);
  });

  test("a small offset still pages as asked", async () => {
    const { data, errors } = await api.gql(`{ assets(offset: 20, first: 10, orderBy: TITLE_ASC) { nodes { title } } }`, {}, token);
    expect(errors).toBeUndefined();
    expect(data.assets.nodes).toHaveLength(ROWS - 20);
  });

  test.each([
    ["literal", `{ assets(offset: 1001) { nodes { rowId } } }`, {}],
    ["variable", `query ($n: Int) { assets(offset: $n) { nodes { rowId } } }`, { n: 1001 }],
    ["nested", `query ($id: UUID!) { project(rowId: $id) { assets(offset: 1000000) { nodes { rowId } } } }`, {}],
  ])("offset: 1001 and more (%s) is refused with an error naming the limit and pointing to cursors", async (_, query, variables) => {
    const { data, errors } = await api.gql(query, { id: projectId, ...variables }, token);
    expect(errors?.[0]?.message).toMatch(/^`offset` is \d+, above the maximum offset of 1000 \(API_MAX_OFFSET\); page with cursors \(after\/before\) instead$/);
    expect(errors?.[0]?.extensions?.code).toBe("PAGE_SIZE_LIMIT");
    expect(JSON.stringify(data ?? null)).not.toContain("rowId");
  });
});
