/**
 * Runs the real Pulumi program (infra/program.ts) under pulumi.runtime.setMocks
 * and records every resource it registers: its inputs (secrets unwrapped, and
 * which of them were secret), and the options a policy may care about
 * (protect, retainOnDelete, dependencies).
 *
 * Pulumi keeps its settings in module-level state, so a test file runs the
 * program once: vitest gives each file its own module graph. Stack
 * configuration is not mocked by setMocks; it is passed with
 * runtime.setAllConfig, which stands in for the PULUMI_CONFIG the CLI sets.
 */
import * as pulumi from "@pulumi/pulumi";

/** The project name in Pulumi.yaml, which is also the configuration namespace. */
export const PROJECT = "alwrity-data-platform";

export const TYPES = {
  provider: "pulumi:providers:postgresql",
  role: "postgresql:index/role:Role",
  database: "postgresql:index/database:Database",
  grant: "postgresql:index/grant:Grant",
  grantRole: "postgresql:index/grantRole:GrantRole",
  defaultPrivileges: "postgresql:index/defaultPrivileges:DefaultPrivileges",
  extension: "postgresql:index/extension:Extension",
  schema: "postgresql:index/schema:Schema",
  password: "random:index/randomPassword:RandomPassword",
} as const;

export interface RecordedResource {
  readonly type: string;
  /** The logical (Pulumi) name. */
  readonly name: string;
  readonly urn: string;
  /** Inputs as the provider would receive them, secrets unwrapped. */
  readonly inputs: Record<string, any>;
  /** Top-level inputs that arrived as secrets. */
  readonly secretInputs: ReadonlySet<string>;
  /** The provider reference (`<provider urn>::<id>`), "" for a default provider. */
  readonly provider: string;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  /** URNs this resource waits for: dependsOn and the resources its inputs come from. */
  readonly dependencies: readonly string[];
}

export type Program = typeof import("../../../infra/program.ts");
export type StackOutputs = typeof import("../../../infra/index.ts");

export interface ProgramRun {
  readonly resources: readonly RecordedResource[];
  readonly program: Program;
  readonly outputs: StackOutputs;
  ofType(type: string): RecordedResource[];
  byUrn(urn: string): RecordedResource | undefined;
}

interface MonitorRequest {
  getType(): string;
  getName(): string;
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getDependenciesList(): string[];
}

export async function runProgram(stack: string, config: Record<string, string>, secretKeys: string[] = []): Promise<ProgramRun> {
  const inputs = new Map<string, { inputs: Record<string, any>; secretInputs: Set<string>; provider: string }>();
  const options = new Map<string, { protect: boolean; retainOnDelete: boolean; dependencies: string[] }>();
  const urnOf = (type: string, name: string) => `urn:pulumi:${stack}::${PROJECT}::${type}::${name}`;

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const unwrapped: Record<string, any> = {};
        const secretInputs = new Set<string>();
        for (const [key, value] of Object.entries(args.inputs)) {
          if (pulumi.runtime.isRpcSecret(value)) secretInputs.add(key);
          unwrapped[key] = pulumi.runtime.unwrapRpcSecret(value);
        }
        inputs.set(urnOf(args.type, args.name), { inputs: unwrapped, secretInputs, provider: args.provider ?? "" });
        const state: Record<string, any> = { ...args.inputs };
        // The engine, not the mock monitor, marks `result` secret; do what it does.
        if (args.type === TYPES.password) state.result = pulumi.secret(`mock-password-${args.name}`);
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    PROJECT,
    stack,
    false, // a preview leaves outputs unknown, and awaiting them would hang
  );

  // Resource options do not reach newResource; read them off each registration request.
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: MonitorRequest, cb: unknown): unknown };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    options.set(urnOf(req.getType(), req.getName()), {
      protect: req.getProtect(),
      retainOnDelete: req.getRetainondelete(),
      dependencies: req.getDependenciesList(),
    });
    return register(req, cb);
  };

  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(config).map(([key, value]) => [`${PROJECT}:${key}`, value])),
    secretKeys.map((key) => `${PROJECT}:${key}`),
  );

  const program: Program = await import("../../../infra/program.ts");
  const outputs: StackOutputs = await import("../../../infra/index.ts");
  await settled();

  const resources = [...options].map(([urn, opts]): RecordedResource => {
    const recorded = inputs.get(urn);
    if (!recorded) throw new Error(`${urn} was registered but never reached the mocks`);
    const [type, name] = urn.split("::").slice(2) as [string, string];
    return { type, name, urn, ...recorded, ...opts };
  });
  return {
    resources,
    program,
    outputs,
    ofType: (type) => resources.filter((r) => r.type === type),
    byUrn: (urn) => resources.find((r) => r.urn === urn),
  };
}

/**
 * Waits until every registration the program started has completed. The SDK
 * does exactly this before it disconnects (runtime.disconnect), with a
 * function its typings leave out.
 */
async function settled(): Promise<void> {
  const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
  if (!waitForRPCs) throw new Error("@pulumi/pulumi no longer exports runtime.waitForRPCs; wait for the resources' ids instead");
  await waitForRPCs();
}

/** The resolved value of an output (the program runs with preview off, so every output resolves). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

export function isSecret(output: pulumi.Output<unknown>): Promise<boolean> {
  return pulumi.isSecret(output);
}
