/** What the numbers were measured on. */
import { execFileSync } from "node:child_process";
import os from "node:os";

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  postgres: string;
  pgbench: string;
}

export const PGBENCH = "/usr/bin/pgbench";

export function describeMachine(postgresVersion: string): Machine {
  let pgbench: string;
  try {
    pgbench = execFileSync(PGBENCH, ["--version"], { encoding: "utf8" }).trim();
  } catch {
    pgbench = "pgbench not found";
  }
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres: postgresVersion,
    pgbench,
  };
}
