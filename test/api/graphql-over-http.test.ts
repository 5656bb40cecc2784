/**
 * GraphQL over HTTP: the media type a client gets for what it accepts (no
 * Accept header or only wildcards: application/json, as graphql-http's audit
 * 47DE and 80D8 want), and GET refused for every operation.
 */
import { request } from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startTestApi, type TestApi } from "./api-harness.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ ENVIRONMENT: "production", API_HOST: "127.0.0.1" });
});
afterAll(() => api?.stop());

async function post(body: object, accept: string | undefined) {
  const response = await fetch(api.server.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(accept !== undefined ? { accept } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, type: response.headers.get("content-type"), body: (await response.json()) as { data?: unknown; errors?: unknown[] } };
}

/** A POST with no Accept header at all (fetch always sends one). */
function postWithoutAccept(body: object): Promise<{ status: number; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(api.server.url, { method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode!, type: res.headers["content-type"] }));
    });
    req.on("error", reject);
    req.end(payload);
  });
}

const query = { query: "{ subscriptionPlans { totalCount } }" };

test.each(["*/*", "*/*;q=0.8", ""])("Accept %j gets application/json", async (accept) => {
  const answer = await post(query, accept);
  expect(answer.status).toBe(200);
  expect(answer.type).toMatch(/^application\/json/);
  expect(answer.body).toEqual({ data: { subscriptionPlans: { totalCount: 3 } } });
});

test("no Accept header gets application/json", async () => {
  const answer = await postWithoutAccept(query);
  expect(answer).toMatchObject({ status: 200, type: expect.stringMatching(/^application\/json/) });
});

test("a client that asks for application/graphql-response+json gets it, and its status codes (400 for a document that does not validate)", async () => {
  const ok = await post(query, "application/graphql-response+json");
  expect(ok.type).toMatch(/^application\/graphql-response\+json/);
  const invalid = await post({ query: "{ noSuchField }" }, "application/graphql-response+json");
  expect(invalid.status).toBe(400);
  // The same document as application/json: 200 with the errors, as the spec has it for that type.
  const legacy = await post({ query: "{ noSuchField }" }, "*/*");
  expect(legacy.status).toBe(200);
  expect(legacy.type).toMatch(/^application\/json/);
  expect(legacy.body.errors).toHaveLength(1);
});

test.each([
  ["a query", "{ subscriptionPlans { totalCount } }"],
  ["a mutation", 'mutation { createProject(input: { project: { projectName: "x", projectType: BLOG } }) { project { rowId } } }'],
])("GET is refused for %s (405)", async (_, document) => {
  const response = await fetch(`${api.server.url}?query=${encodeURIComponent(document)}`, { headers: { accept: "application/json" } });
  expect(response.status).toBe(405);
  expect(((await response.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(/POST/);
});
