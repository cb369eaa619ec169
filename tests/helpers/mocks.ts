// Pulumi's mocks for programs that cannot reach their real backends here (a Kubernetes
// cluster) and for checking what a program asks for: every resource is recorded with its inputs.
import * as pulumi from "@pulumi/pulumi";

export interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, any>;
}

/**
 * Installs mocks for `project`/`stack` with `config` (keys with their namespace) and returns the
 * list that fills as resources are registered. `computed` adds outputs a real provider would.
 */
export function recordResources(
  project: string,
  stack: string,
  config: Record<string, string>,
  computed: (r: Recorded) => Record<string, unknown> = () => ({}),
): Recorded[] {
  const recorded: Recorded[] = [];
  pulumi.runtime.setAllConfig(config);
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        const r = { type: args.type, name: args.name, inputs: args.inputs };
        recorded.push(r);
        return { id: `${args.name}-id`, state: { ...args.inputs, ...computed(r) } };
      },
      call: (args) => args.inputs,
    },
    project,
    stack,
    false,
  );
  return recorded;
}

/** Loads a program module afresh (programs register resources when loaded). */
export function loadProgram(file: string): Record<string, any> {
  delete require.cache[require.resolve(file)];
  return require(file) as Record<string, any>;
}

export const valueOf = <T>(o: pulumi.Output<T> | undefined): Promise<T | undefined> =>
  o === undefined
    ? Promise.resolve(undefined)
    : new Promise((resolve) => o.apply((v) => resolve(v)));

/** Resolves every Output in a value (objects and arrays of Outputs included). */
export async function resolveAll(v: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(v)) return resolveAll(await valueOf(v as pulumi.Output<unknown>));
  if (Array.isArray(v)) return Promise.all(v.map(resolveAll));
  if (v && typeof v === "object") {
    return Object.fromEntries(
      await Promise.all(Object.entries(v).map(async ([k, x]) => [k, await resolveAll(x)])),
    );
  }
  return v;
}

/** The recorded resource of this type and name; fails if there is none. */
export function find(recorded: Recorded[], type: string, name: string): Recorded {
  const r = recorded.find((x) => x.type === type && x.name === name);
  if (!r)
    throw new Error(
      `no ${type} named ${name} was registered (got ${recorded.map((x) => x.name).join(", ")})`,
    );
  return r;
}

/**
 * What the engine does with `additionalSecretOutputs`, which Pulumi's mock monitor ignores: the
 * outputs named there come back as secrets. Call right after `setMocks`; every registration's
 * list is recorded in `seen`, by Pulumi name.
 */
export function honourSecretOutputs(seen: Map<string, string[]>): void {
  // The monitor and its protobuf messages are Pulumi's internals: walked untyped on purpose.
  const monitor = pulumi.runtime.getMonitor() as any;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: (err: any, res: any) => void) =>
    register(req, (err: any, res: any) => {
      if (!err) {
        const names: string[] = req.getAdditionalsecretoutputsList();
        seen.set(req.getName(), names);
        if (names.length) {
          const outputs = res.getObject().toJavaScript();
          for (const k of names) {
            if (k in outputs) {
              outputs[k] = {
                [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
                value: outputs[k],
              };
            }
          }
          // The Struct class of the google-protobuf copy Pulumi loaded, not one of our own.
          res.setObject(res.getObject().constructor.fromJavaScript(outputs));
        }
      }
      callback(err, res);
    });
}
