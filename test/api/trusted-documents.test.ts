/**
 * Trusted documents (API_TRUSTED_DOCUMENTS): a team that ships its own
 * clients commits the operations they send, as `<sha256>.graphql` files, and
 * the API runs those and nothing else. Any other document, and an id with no
 * file, is refused before it is parsed or planned.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestApi, type TestApi } from "./api-harness.ts";
import { loadConfig } from "../../src/config.ts";
import { deploymentEnv } from "../support/databases.ts";

const MY_PROJECTS = "query MyProjects { projects { nodes { rowId projectName } } }";
const CREATE = `mutation Create($name: String!) { createProject(input: { project: { projectName: $name, projectType: BLOG } }) { project { projectName } } }`;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

const folder = mkdtempSync(path.join(tmpdir(), "alwrity-trusted-"));
let api: TestApi;
let token: string;

beforeAll(async () => {
  for (const document of [MY_PROJECTS, CREATE]) writeFileSync(path.join(folder, `${sha256(document)}.graphql`), document);
  api = await startTestApi({ API_TRUSTED_DOCUMENTS: folder });
  token = api.token({ sub: `user_trusted_${randomUUID().slice(0, 8)}` });
});
afterAll(async () => {
  await api?.stop();
  rmSync(folder, { recursive: true, force: true });
});

async function send(body: Record<string, unknown>) {
  const response = await fetch(api.server.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: Array<{ message: string }> } };
}

describe("with API_TRUSTED_DOCUMENTS", () => {
  test("a committed document runs by its id, with variables", async () => {
    const created = await send({ documentId: sha256(CREATE), variables: { name: "trusted" } });
    expect(created.body.errors).toBeUndefined();
    expect(created.body.data.createProject.project.projectName).toBe("trusted");
    const listed = await send({ documentId: sha256(MY_PROJECTS) });
    expect(listed.body.errors).toBeUndefined();
    expect(listed.body.data.projects.nodes.map((p: { projectName: string }) => p.projectName)).toEqual(["trusted"]);
  });

  test("the same document by Apollo's persisted-query hash runs too", async () => {
    const listed = await send({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256(MY_PROJECTS) } } });
    expect(listed.body.errors).toBeUndefined();
    expect(listed.body.data.projects.nodes).toHaveLength(1);
  });

  test("a document sent as text is refused, even one that is in the folder", async () => {
    for (const query of ["{ currentUser { rowId email } }", MY_PROJECTS]) {
      const refused = await send({ query });
      expect(refused.status).toBeGreaterThanOrEqual(400);
      expect(refused.body.data ?? null).toBeNull();
      expect(refused.body.errors?.[0]?.message).toMatch(/persist|document/i);
    }
  });

  test("an id with no file is refused", async () => {
    const refused = await send({ documentId: sha256("query Unknown { __typename }") });
    expect(refused.body.data ?? null).toBeNull();
    expect(refused.body.errors?.[0]?.message).toMatch(/not found|unknown|persist/i);
  });
});

test("a folder that does not exist, or holds no document, is a configuration error naming the setting", () => {
  expect(() => loadConfig({ ...deploymentEnv(), API_TRUSTED_DOCUMENTS: path.join(folder, "missing") })).toThrow(/API_TRUSTED_DOCUMENTS: .*missing cannot be read \(ENOENT\)/);
  const empty = mkdtempSync(path.join(tmpdir(), "alwrity-trusted-empty-"));
  try {
    expect(() => loadConfig({ ...deploymentEnv(), API_TRUSTED_DOCUMENTS: empty })).toThrow(/API_TRUSTED_DOCUMENTS: .*holds no <sha256>\.graphql file/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
