/**
 * Prometheus' own checker, `promtool check metrics`, from Debian's prometheus
 * package (a static Go binary), fetched without installing
 * (src/host/debian-package.ts) when the machine has none.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { unpackedDebianPackage } from "../../src/host/debian-package.ts";

function promtool(): string {
  const installed = spawnSync("promtool", ["--version"]);
  if (!installed.error && installed.status === 0) return "promtool";
  const binary = path.join(unpackedDebianPackage("prometheus", "the metrics test (promtool)"), "usr", "bin", "promtool");
  if (!existsSync(binary)) throw new Error(`Debian's prometheus package has no ${binary}`);
  return binary;
}

/** promtool's verdict on an exposition: exit status and what it printed (problems, one per line). */
export function checkMetrics(exposition: string): { ok: boolean; output: string } {
  const result = spawnSync(promtool(), ["check", "metrics"], { input: exposition, encoding: "utf8" });
  if (result.error) throw result.error;
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}
