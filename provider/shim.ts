// The serialized half of every dynamic provider.
//
// Pulumi stores each dynamic resource's provider, with its closure, in state (`__provider`) and
// runs that copy in a separate process for check/diff/create/read/update/delete. Anything the
// closure captures is serialized by value: SDK clients, axios instances and zod schemas cannot
// be, and a credential captured here would land in state in plaintext (../shared/design/pulumi.md).
//
// So the closure holds two strings only: the implementation's file, relative to the project
// directory (the provider process runs there, so the path holds on any clone or CI machine),
// and the export to call. The implementation is loaded from disk in the provider process, which
// also means `refresh` and `destroy` run the current code rather than the copy in state.
import type * as pulumi from "@pulumi/pulumi";
import path from "node:path";

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
 * A provider whose methods load `exportName` from `file` (absolute, usually `__filename`) in the
 * provider process. Make one per resource type at module level: Pulumi caches serialization by
 * object identity.
 */
export function providerShim(file: string, exportName: string): pulumi.dynamic.ResourceProvider {
  const relative = path.relative(process.cwd(), file).split(path.sep).join("/");

  // Everything below runs in the provider process: it may use only `relative`, `exportName`
  // and `require`, which the serialized closure resolves there.
  // Mutated, never reassigned: each serialized function gets its own scope for captured
  // variables, but they share captured objects.
  const conn: ConnectionConfig = {};
  const impl = (): Implementation<unknown, unknown> => {
    const nodePath = require("node:path") as typeof import("node:path");
    const file = nodePath.resolve(relative);
    if (file.endsWith(".ts")) {
      // Running from source: compile on load with the project's own tsx.
      (require("node:module") as typeof import("node:module")).createRequire(file)("tsx/cjs");
    }
    return require(file)[exportName];
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
    diff: (id, olds, news) => quiet(() => impl().diff(id, olds, news, conn)),
    create: (inputs) => quiet(() => impl().create(inputs, conn)),
    read: (id, props) => quiet(() => impl().read(id, props, conn)),
    update: (id, olds, news) => quiet(() => impl().update(id, olds, news, conn)),
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
