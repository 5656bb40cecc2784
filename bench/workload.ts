/**
 * What the load cases send: the API's three hot operations as GraphQL
 * documents, the same operations as the hand-written handler's routes, and
 * Clerk-style session tokens for many of the data set's users.
 */
import { generateClerkKeyPair, signToken } from "../src/api/auth/dev-keys.ts";
import { clerkId, emailOf, projectId, userId, type DatasetShape } from "./dataset.ts";
import type { HttpRequestSpec } from "./load/http-load.ts";

export type Operation = "projects" | "projectAssets" | "createAsset";

export const OPERATION_LABELS: Record<Operation, string> = {
  projects: "(a) list my projects",
  projectAssets: "(b) a project + 20 newest assets",
  createAsset: "(c) create an asset",
};

export const ASSET_CONTENT = "A short draft written by the benchmark.";

const GRAPHQL: Record<Operation, string> = {
  projects: "query Projects { projects(orderBy: CREATED_AT_DESC) { nodes { rowId projectName projectType createdAt } } }",
  projectAssets:
    "query ProjectAssets($id: UUID!) { project(rowId: $id) { rowId projectName assets(first: 20, orderBy: CREATED_AT_DESC) { nodes { rowId title assetType createdAt } } } }",
  createAsset: `mutation CreateAsset($projectId: UUID!, $title: String!) { createAsset(input: { asset: { projectId: $projectId, assetType: BLOG_POST, title: $title, content: ${JSON.stringify(ASSET_CONTENT)} } }) { asset { rowId title createdAt } } }`,
};

/**
 * The same three operations in vanilla PostGraphile's names (bench/vanilla-postgraphile.ts): the Amber
 * preset prefixes the second service's names, keeps table names and enum values as the database has
 * them, finds a project by its whole primary key (user_id, id), and has no default page size.
 */
const VANILLA_GRAPHQL: Record<Operation, string> = {
  // The API's connections return API_DEFAULT_PAGE_SIZE (20) rows unless asked; vanilla's return all.
  projects: "query Projects { allUserDataUserProjects(first: 20, orderBy: CREATED_AT_DESC) { nodes { rowId projectName projectType createdAt } } }",
  projectAssets:
    "query ProjectAssets($userId: UUID!, $id: UUID!) { userDataUserProjectByUserIdAndRowId(userId: $userId, rowId: $id) { rowId projectName userDataUserContentAssetsByUserIdAndProjectId(first: 20, orderBy: CREATED_AT_DESC) { nodes { rowId title assetType createdAt } } } }",
  createAsset: `mutation CreateAsset($projectId: UUID!, $title: String!) { createUserDataUserContentAsset(input: { userDataUserContentAsset: { projectId: $projectId, assetType: blog_post, title: $title, content: ${JSON.stringify(ASSET_CONTENT)} } }) { userDataUserContentAsset { rowId title createdAt } } }`,
};

/** A vanilla answer in the API's names and enum spelling, to check both answer the same. */
export function vanillaAnswerAsApi(op: Operation, data: any): unknown {
  const upper = (value: string) => value.toUpperCase();
  if (op === "projects") return { projects: { nodes: data.allUserDataUserProjects.nodes.map((n: any) => ({ ...n, projectType: upper(n.projectType) })) } };
  if (op === "projectAssets") {
    const p = data.userDataUserProjectByUserIdAndRowId;
    if (!p) return { project: null };
    const nodes = p.userDataUserContentAssetsByUserIdAndProjectId.nodes.map((n: any) => ({ ...n, assetType: upper(n.assetType) }));
    return { project: { rowId: p.rowId, projectName: p.projectName, assets: { nodes } } };
  }
  return { createAsset: { asset: data.createUserDataUserContentAsset.userDataUserContentAsset } };
}

/** A heavy user's most expensive listing: their newest assets across all projects, with the total. */
export const HEAVY_LISTING = "query AllAssets { assets(first: 20, orderBy: CREATED_AT_DESC) { totalCount nodes { rowId title createdAt } } }";

export const AUTHORIZED_PARTY = "http://localhost:3000";
/** The iss of the bench's tokens: production requires CLERK_ISSUER. */
export const ISSUER = "https://clerk.bench.alwrity.local";

/**
 * What every API the bench starts in production mode gets besides its key: the tokens'
 * issuer and party, and rate limits out of the way. The load comes from a few simulated
 * users on one address, far above what one person sends: the benchmarks measure the work,
 * not the limits (which have their own tests).
 */
export const BENCH_API_ENV = {
  CLERK_AUTHORIZED_PARTIES: AUTHORIZED_PARTY,
  CLERK_ISSUER: ISSUER,
  RATE_LIMIT_PER_USER: "100000000",
  RATE_LIMIT_PER_ADDRESS: "100000000",
  RATE_LIMIT_REGISTRATIONS_PER_ADDRESS: "100000000",
} as const;

export interface BenchUser {
  n: number;
  token: string;
}

export interface ClerkKeys {
  publicKey: string;
  privateKey: string;
}

/** A key pair standing in for the Clerk instance's: the API gets the public half as CLERK_JWT_KEY. */
export const makeClerkKeys: () => ClerkKeys = generateClerkKeyPair;

export function tokensFor(keys: ClerkKeys, numbers: number[]): BenchUser[] {
  return numbers.map((n) => ({ n, token: signToken(keys.privateKey, { sub: clerkId(n), email: emailOf(n), azp: AUTHORIZED_PARTY, iss: ISSUER }) }));
}

/** `count` distinct users drawn at random from 1..users (all of them when count ≥ users). */
export function sampleUsers(shape: DatasetShape, count: number, from = 1): number[] {
  const pool = Array.from({ length: shape.users - from + 1 }, (_, i) => from + i);
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, Math.min(count, pool.length));
}

const headers = (user: BenchUser) => ({ "content-type": "application/json", authorization: `Bearer ${user.token}` });

function variables(op: Operation, user: BenchUser, vanilla = false): Record<string, string> {
  if (op === "projects") return {};
  if (op === "projectAssets" && vanilla) return { userId: userId(user.n), id: projectId(user.n, 1) };
  if (op === "projectAssets") return { id: projectId(user.n, 1) };
  return { projectId: projectId(user.n, 1), title: `Bench post of user ${user.n}` };
}

export function graphqlRequests(op: Operation, users: BenchUser[]): HttpRequestSpec[] {
  return users.map((user) => ({
    method: "POST",
    path: "/graphql",
    headers: headers(user),
    body: JSON.stringify({ query: GRAPHQL[op], variables: variables(op, user) }),
  }));
}

/** The same operations for vanilla PostGraphile, in its names. */
export function vanillaRequests(op: Operation, users: BenchUser[]): HttpRequestSpec[] {
  return users.map((user) => ({
    method: "POST",
    path: "/graphql",
    headers: headers(user),
    body: JSON.stringify({ query: VANILLA_GRAPHQL[op], variables: variables(op, user, true) }),
  }));
}

export function graphqlDocumentRequests(query: string, users: BenchUser[]): HttpRequestSpec[] {
  return users.map((user) => ({ method: "POST", path: "/graphql", headers: headers(user), body: JSON.stringify({ query }) }));
}

/** The hand-written handler takes the operation from the path and the variables as the body. */
export function handWrittenRequests(op: Operation, users: BenchUser[]): HttpRequestSpec[] {
  const extra = op === "createAsset" ? { content: ASSET_CONTENT } : {};
  return users.map((user) => ({ method: "POST", path: `/${op}`, headers: headers(user), body: JSON.stringify({ ...variables(op, user), ...extra }) }));
}

/**
 * The most expensive request the default limits let one user send: 9 root
 * lists of a full page (API_MAX_PAGE_SIZE) of assets with their content, each
 * asset's project counting its assets — under API_MAX_ROOT_FIELDS, within
 * API_MAX_COST. The fairness case sends it in a loop as the heavy user, and the
 * fair-use test does the same; both check once that the API accepts it.
 */
export const HEAVIEST_ALLOWED = `query Heaviest { ${Array.from(
  { length: 9 },
  (_, i) => `a${i}: assets(first: 100, offset: ${i * 100}) { nodes { content project { assets { totalCount } } } }`,
).join(" ")} }`;
