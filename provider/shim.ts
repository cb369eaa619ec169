// The serialized half of every dynamic provider.
//
// Pulumi stores each dynamic resource's provider, with its closure, in state (`__provider`) and
// runs that copy in a separate process for check/diff/create/read/update/delete. Anything the
// closure captures is serialized by value: SDK clients, axios instances and zod schemas cannot
// be, and a credential captured here would land in state in plaintext (../shared/design/pulumi.md).
//
// So the closure holds one string: the name of the implementation to call. It loads
// `@appgw/pulumi/implementations` by package name, resolved from the project directory (where
// the provider process runs), so a state written on one machine or folder works from any other
// clone, folder or CI runner that installed the package; and `refresh` and `destroy` run the
// installed release rather than a copy frozen in state.
import type * as pulumi from "@pulumi/pulumi";
import type * as implementations from "./implementations";

/** Connection settings from stack config (`appgw:*`), read by `configure` in the provider process. */
export interface ConnectionConfig {
  apiHost?: string;
  accessKey?: string;
  secretKey?: string;
}

/** What each resource file implements; `conn` comes from `configure` (undefined: use the env). */
export interface Implementation<I, O> {
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
 * A provider whose methods call the implementation `name` of `@appgw/pulumi/implementations` in
 * the provider process. Make one per resource type at module level: Pulumi caches serialization
 * by object identity.
 */
export function providerShim(name: keyof typeof implementations): pulumi.dynamic.ResourceProvider {
  // Everything below runs in the provider process: it may use only `name` and `require`, which
  // the serialized closure resolves there. Objects are mutated, never reassigned: each
  // serialized function gets its own scope for captured variables, but they share objects.
  const conn: ConnectionConfig = {};
  const loaded: { impl?: Implementation<unknown, unknown> } = {};
  const impl = (): Implementation<unknown, unknown> => {
    if (loaded.impl) return loaded.impl;
    const { createRequire } = require("node:module") as typeof import("node:module");
    const { join } = require("node:path") as typeof import("node:path");
    // The project's own installation first; then wherever @pulumi/pulumi itself was found.
    let mod: typeof implementations;
    try {
      mod = createRequire(join(process.cwd(), "package.json"))("@appgw/pulumi/implementations");
    } catch (err) {
      if ((err as { code?: string }).code !== "MODULE_NOT_FOUND") throw err;
      mod = require("@appgw/pulumi/implementations");
    }
    loaded.impl = mod[name] as Implementation<unknown, unknown>;
    return loaded.impl;
  };

  // A state written by 0.2 holds a closure that loads a file path relative to the folder it ran
  // in; it breaks when the project moves. `diff` reports such a resource as changed when nothing
  // else is, and `update` then only rewrites the closure: one `pulumi up` repairs the state.
  const legacy = (props: unknown): boolean => {
    const closure = (props as { __provider?: unknown }).__provider;
    return typeof closure === "string" && !closure.includes("@appgw/pulumi/implementations");
  };

  // Pulumi's dynamic provider prints every error with its stack trace, once per resource. The
  // errors a person acts on (the gateway's answer, an unreachable server, a refused edit) say
  // all in their message: they lose the stack. Programming errors keep theirs.
  const quiet = async <T>(op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (err) {
      const bug = [TypeError, ReferenceError, RangeError, SyntaxError].some(
        (c) => err instanceof c,
      );
      if (err instanceof Error && !bug) err.stack = "";
      throw err;
    }
  };

  return {
    async configure(req) {
      conn.apiHost = req.config.get("appgw:apiHost");
      conn.accessKey = req.config.get("appgw:accessKey");
      conn.secretKey = req.config.get("appgw:secretKey");
    },
    check: (olds, news) => quiet(() => impl().check(olds, news)),
    diff: (id, olds, news) =>
      quiet(async () => {
        const result = await impl().diff(id, olds, news, conn);
        return result.changes || !legacy(olds) ? result : { ...result, changes: true };
      }),
    create: (inputs) => quiet(() => impl().create(inputs, conn)),
    read: (id, props) => quiet(() => impl().read(id, props, conn)),
    update: (id, olds, news) =>
      quiet(async () => {
        if (legacy(olds) && !(await impl().diff(id, olds, news, conn)).changes) {
          const { __provider: _closure, ...outs } = olds as Record<string, unknown>;
          return { outs };
        }
        return impl().update(id, olds, news, conn);
      }),
    delete: (id, props) => quiet(() => impl().delete(id, props, conn)),
  };
}

/**
 * The props to register a dynamic resource with: Pulumi makes an output property only for keys
 * present in the props, so every output the class declares is listed, unset unless given.
 */
export function registeredProps(args: object, outputs: readonly string[]): Record<string, unknown> {
  return { ...Object.fromEntries(outputs.map((k) => [k, undefined])), ...args };
}
