/**
 * A server to profile, as its own process (driven by bench/profile.ts): `api`
 * is the real GraphQL API (startApiServer, production mode), `vanilla`
 * PostGraphile as it comes (vanilla-postgraphile.ts), `hand` the
 * hand-written handler. It prints its URL, then takes commands on stdin:
 * `start` begins sampling the CPU (V8's profiler, through node:inspector) and
 * `stop <file>` writes the profile there and exits. Only the measured load
 * is sampled, never start-up (introspection would swamp it).
 */
import "./production-mode.ts";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { createInterface } from "node:readline";
import { startApiServer } from "../src/api/http/server.ts";
import type { Deployment } from "../src/bootstrap/deployment.ts";
import { loadConfig } from "../src/config.ts";
import { createDatabases } from "../src/db/databases.ts";
import type { DatabaseEndpoints } from "../src/db/endpoints.ts";
import { resolveTopology } from "../src/topology.ts";
import { startHandWrittenServer } from "./hand-written-server.ts";
import { startVanillaPostGraphile } from "./vanilla-postgraphile.ts";

interface Target {
  prefix: string;
  platform: DatabaseEndpoints;
  userData: DatabaseEndpoints;
}

const [kind, envJson, targetJson] = process.argv.slice(2);
const config = loadConfig(JSON.parse(envJson!) as Record<string, string>);
const target = JSON.parse(targetJson!) as Target;
const deployment = { topology: resolveTopology(target.prefix), platform: target.platform, userData: target.userData } as Deployment;

let stop: () => Promise<void>;
if (kind === "api") {
  const databases = createDatabases(deployment, config);
  const api = await startApiServer(config, databases, deployment.topology);
  console.log(new URL(api.url).origin);
  stop = async () => {
    await api.stop();
    await databases.close();
  };
} else if (kind === "vanilla") {
  const vanilla = await startVanillaPostGraphile(config, deployment);
  console.log(vanilla.url);
  stop = () => vanilla.stop();
} else if (kind === "hand") {
  const hand = await startHandWrittenServer(config, deployment);
  console.log(hand.url);
  stop = () => hand.stop();
} else {
  throw new Error(`profile-target: expected api, vanilla or hand, got ${kind}`);
}

const session = new Session();
session.connect();
await session.post("Profiler.enable");
// 100 µs between samples: fine enough for requests that take a few hundred µs of CPU.
await session.post("Profiler.setSamplingInterval", { interval: 100 });
for await (const line of createInterface({ input: process.stdin })) {
  const [command, file] = line.trim().split(" ");
  if (command === "start") {
    await session.post("Profiler.start");
    console.log("started");
  } else if (command === "stop") {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(file!, JSON.stringify(profile));
    await stop();
    process.exit(0);
  }
}
