/**
 * The docs name files by path: links and `src/…`-style paths in backticks. Files
 * move (the folders by concern did), so every such path must exist, or the
 * reader is sent nowhere.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { PROJECT_ROOT } from "../src/config.ts";

const DOCS = [
  "README.md",
  "CONTRIBUTING.md",
  "bench/README.md",
  ...readdirSync(path.join(PROJECT_ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];

/** Every path a document points at: relative links, resolved from the document, and repository paths in backticks. */
export function pathsNamedIn(doc: string, text: string): string[] {
  const links = [...text.matchAll(/\]\(([^)#\s]+)/g)].map((m) => m[1]!).filter((target) => !/^[a-z]+:/.test(target));
  const named = [...text.matchAll(/`((?:src|test|db|bench|infra|generated|docs)\/[\w./-]+)`/g)].map((m) => m[1]!);
  return [...links.map((target) => path.join(path.dirname(doc), target)), ...named.map((target) => target.replace(/\/$/, ""))];
}

test.each(DOCS)("every path %s names exists", (doc) => {
  const missing = pathsNamedIn(doc, readFileSync(path.join(PROJECT_ROOT, doc), "utf8")).filter((target) => !existsSync(path.join(PROJECT_ROOT, target)));
  expect(missing).toEqual([]);
});

test("a moved file is caught: a path that does not exist is reported", () => {
  const named = pathsNamedIn("docs/x.md", "see `src/api/webhooks/stripe.ts` and [the API](api.md)");
  expect(named).toEqual(["docs/api.md", "src/api/webhooks/stripe.ts"]);
  expect(named.filter((target) => !existsSync(path.join(PROJECT_ROOT, target)))).toEqual(["src/api/webhooks/stripe.ts"]);
});
