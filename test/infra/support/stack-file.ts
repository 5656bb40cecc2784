/**
 * The configuration in a stack file, for feeding to the mocked program, so the
 * tests run the program with the very settings a stack would use. Stack files
 * here are flat `<project>:<key>: <value>` maps; anything else (a `secure:`
 * value, a nested object) is refused rather than misread.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../../../src/config.ts";
import { PROJECT } from "./run-program.ts";

export function readStackConfig(file: string): Record<string, string> {
  const lines = readFileSync(path.join(PROJECT_ROOT, file), "utf8").split("\n");
  const start = lines.findIndex((line) => line.trimEnd() === "config:");
  if (start < 0) throw new Error(`${file} has no config: section`);
  const config: Record<string, string> = {};
  for (const line of lines.slice(start + 1)) {
    const text = line.trim();
    if (text === "" || text.startsWith("#")) continue;
    const match = /^\s+([\w-]+):(\w+):\s*(.*)$/.exec(line);
    if (!match || match[1] !== PROJECT || match[3] === "") throw new Error(`${file}: cannot read "${line}"`);
    const raw = match[3]!;
    config[match[2]!] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
  }
  return config;
}
