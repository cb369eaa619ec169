// The serialized half of every dynamic provider.
//
// Pulumi stores each dynamic resource's provider, with its closure, in state (`__provider`) and
// runs that copy in a separate process for check/diff/create/read/update/delete. Anything the
// closure captures is serialized by value: SDK clients, axios instances and zod schemas cannot
// be, and a credential captured here would land in state in plaintext.
//
// So the closure names the implementation and nothing else. Installed from a registry, it is
// `require("@appgw/pulumi/serialized/<type>")`; in a linked workspace, a few functions that
// load `@appgw/pulumi/implementations`. Either resolves the package by name from the project
// directory (where the provider process runs), so a state written on one machine or folder
// works from any other clone, folder or CI runner that installed the package; and `refresh`
// and `destroy` run the installed release rather than a copy frozen in state.
import * as pulumi from "@pulumi/pulumi";
import { formatManagedBy } from "@appgw/sdk/vocabulary";
import type * as implementations from "./implementations";

/**
 * The names serialized providers record, one per resource type (provider/implementations.ts
 * maps each to its provider). Every state holds them, so they stay.
 */
export type ImplementationName =
  | "staticRouteImpl"
  | "groupImpl"
  | "groupAccessImpl"
  | "routerTestImpl"
  | "routerRegistrationImpl"
  | "serviceAccountImpl";

/** Connection settings from stack config (`appgw:*`), read by `configure` in the provider process. */
export interface ConnectionConfig {
  apiHost?: string;
  accessKey?: string;
  secretKey?: string;
}

/** What each resource file implements; `conn` comes from `configure` (undefined: use the env). */
export interface Implementation<I, O> {
  /**
   * Outputs the state keeps under one key (`key`), read by the class through getters: every
   * output property costs the program a promise with a source-mapped stack per resource.
   */
  nested?: {
    key: string;
    fields: readonly string[];
    /**
     * Settings kept at the top level and copied under `key` as well: the class registers only
     * the settings the program gave and reads the others from the copy (see `unsetSettings`).
     */
    copies?: readonly string[];
  };
  check(olds: Partial<I>, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult<I>>;
  diff(id: string, olds: O, news: I, conn: ConnectionConfig): Promise<pulumi.dynamic.DiffResult>;
  create(inputs: I, conn: ConnectionConfig): Promise<pulumi.dynamic.CreateResult<O>>;
  /** `{}` means the object is gone; `inputs` are the actual inputs, so refresh shows real drift. */
  read(
    id: string,
    props: O,
    conn: ConnectionConfig,
  ): Promise<{ id?: string; props?: O; inputs?: I }>;
  update(
    id: string,
    olds: O,
    news: I,
    conn: ConnectionConfig,
  ): Promise<pulumi.dynamic.UpdateResult<O>>;
  delete(id: string, props: O, conn: ConnectionConfig): Promise<void>;
}

/**
 * The provider of resource type `name`, as the state will record it. Make one per resource type
 * at module level: Pulumi caches serialization by object identity. Kept small on purpose: every
 * resource's state holds it twice (inputs and outputs), and the engine rewrites the state after
 * each step, so its size is most of what a large stack costs.
 */
export function providerShim(name: ImplementationName): pulumi.dynamic.ResourceProvider {
  // Installed from a registry, this package lives in node_modules, and Pulumi records a module
  // there as `require("@appgw/pulumi/serialized/<type>")` rather than serializing it: 300
  // bytes. A linked workspace resolves outside node_modules, where Pulumi would serialize the
  // module's code instead: it gets the forwarding closure below (2 KB). Only under a single
  // node_modules: Pulumi names the module after the first one it finds, which for a nested store
  // (pnpm's node_modules/.pnpm/...) is not a name `require` knows.
  const module = require.resolve(`./serialized/${name.replace(/Impl$/, "")}`);
  if (module.split(/[\\/]/).filter((part) => part === "node_modules").length === 1) {
    return require(module);
  }

  // Runs in the provider process, where only `name`, `at` and `require` exist. Pulumi compiles
  // this closure as a module of the provider's working directory, the project's: `require`
  // resolves the package from the project's own installation, wherever it has moved.
  const at: { p?: ReturnType<typeof implementations.provider> } = {};
  const p = () =>
    (at.p ??= (require("@appgw/pulumi/implementations") as typeof implementations).provider(name));
  return {
    configure: (...a) => p().configure(...a),
    check: (...a) => p().check(...a),
    diff: (...a) => p().diff(...a),
    create: (...a) => p().create(...a),
    read: (...a) => p().read(...a),
    update: (...a) => p().update(...a),
    delete: (...a) => p().delete(...a),
  };
}

/**
 * The props to register a dynamic resource with: Pulumi makes an output property only for keys
 * present in the props, so every output the class declares is listed, unset unless given.
 *
 * They also carry `apiHost`, the gateway the stack's config names (see runtime.ts): an input, so
 * that pointing a stack at another gateway shows in every diff (`~ apiHost`) and fails the drift
 * check, rather than silently comparing the state with a gateway that never held it.
 */
export function registeredProps(args: object, outputs: readonly string[]): Record<string, unknown> {
  const apiHost = new pulumi.Config("appgw").get("apiHost") || process.env.CLEARML_API_HOST;
  return {
    ...Object.fromEntries(outputs.map((k) => [k, undefined])),
    ...args,
    ...(apiHost ? { apiHost: apiHost.replace(/\/+$/, "") } : {}),
  };
}

/**
 * Outputs for the settings the program left unset, read from their copy under the nested key
 * (`Implementation.nested.copies`). Pulumi gives every registered key an output made of four
 * promises, each with a stack trace: registering seven unset settings per route was the
 * largest cost of a program of hundreds of routes. A setting the program gave is registered,
 * so Pulumi has already set its output on the resource; a state written before the copies
 * existed reads undefined until the next update or `pulumi refresh`.
 */
export function unsetSettings(
  resource: object,
  nested: pulumi.Output<Record<string, unknown> | undefined>,
  settings: readonly string[],
): void {
  for (const key of settings) {
    if (Object.prototype.hasOwnProperty.call(resource, key)) continue;
    let output: pulumi.Output<unknown> | undefined;
    Object.defineProperty(resource, key, {
      get: () => (output ??= nested.apply((n) => n?.[key])),
      enumerable: true,
    });
  }
}

/** Gateway names claimed by the resources of this program, by kind: name -> resource name. */
const claimed = new Map<string, Map<string, string>>();

function claim(kind: string, resource: string, value: string): string {
  const names = claimed.get(kind) ?? new Map<string, string>();
  claimed.set(kind, names);
  const other = names.get(value);
  if (other !== undefined && other !== resource) {
    // A RunError: Pulumi prints its message without a stack trace.
    throw new pulumi.RunError(
      `${kind} resources '${other}' and '${resource}' both declare the name '${value}': ` +
        "a gateway object can be managed by one resource only. Rename one of them, or remove it",
    );
  }
  names.set(value, resource);
  return value;
}

/**
 * The `name` input, failing when another resource of this program already declared the same
 * gateway name: two resources owning one route (or group) would fight over it for ever, each
 * update undoing the other's. Runs in the program, so preview fails, naming both resources: at
 * once for a plain string, when the value is known for an Output.
 */
export function uniqueName(
  kind: string,
  resource: string,
  name: pulumi.Input<string>,
): pulumi.Input<string> {
  if (typeof name === "string") return claim(kind, resource, name);
  return pulumi.output(name).apply((value) => claim(kind, resource, value));
}

/**
 * The marker of a resource of this program: `tool=pulumi&stack=<project>/<stack>&resource=<name>`,
 * form-encoded. Made by the program, the one place that knows the project, the stack and the
 * resource's name (the provider's methods get none of them), and passed as the `__managedBy`
 * input: `__` keeps it out of the diffs Pulumi shows.
 */
export function managedByMarker(resource: string): string {
  return formatManagedBy({ stack: `${pulumi.getProject()}/${pulumi.getStack()}`, resource });
}
