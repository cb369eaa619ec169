// The dynamic provider as it runs in Pulumi's provider process: the implementation of one
// resource type, wrapped with what every type needs there (connection settings from stack
// config, the repair of a 0.2 state, errors without stack traces). The serialized closure in
// state (shim.ts) only names the implementation; everything here is loaded from the installed
// package, so it never lands in state.
import type * as pulumi from "@pulumi/pulumi";
import { messageOf } from "@appgw/sdk";
import { clientFor } from "./common";
import type { ConnectionConfig, Implementation } from "./shim";

/** Programming errors keep their stack trace: it is what a bug report needs. */
const BUGS = [TypeError, ReferenceError, RangeError, SyntaxError];

/** Messages already thrown by this process: a down gateway fails every resource alike. */
const thrown = new Set<string>();

/**
 * Pulumi's dynamic provider prints every error with its stack trace, once per resource. The
 * errors a person acts on (the gateway's answer, an unreachable server, a refused edit) say
 * all in their message: they lose the stack, and a message already given for another resource
 * is given once; the others point at it.
 */
async function quiet<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (!(err instanceof Error) || BUGS.some((c) => err instanceof c)) throw err;
    // A new error, never the one given: several operations may share one (a failed login).
    const once = new Error(
      thrown.has(err.message)
        ? "appgw: the same error as for another resource, above"
        : err.message,
    );
    once.stack = "";
    thrown.add(err.message);
    throw once;
  }
}

/**
 * A state written by 0.2 holds a closure that loads a file path relative to the folder it ran
 * in; it breaks when the project moves. `diff` reports such a resource as changed when nothing
 * else is, and `update` then only rewrites the closure: one `pulumi up` repairs the state.
 */
function legacy(props: unknown): boolean {
  const closure = (props as { __provider?: unknown }).__provider;
  return typeof closure === "string" && !closure.includes("@appgw/pulumi/");
}

type Props = Record<string, unknown>;

/** Splits off `apiHost`, which the wrapper handles for every implementation (shim.ts). */
function host(props: unknown): [string | undefined, Props] {
  const { apiHost, ...rest } = (props ?? {}) as Props;
  return [typeof apiHost === "string" ? apiHost : undefined, rest];
}

const withHost = <T>(props: T, apiHost: string | undefined): T =>
  apiHost === undefined ? props : { ...props, apiHost };

type Nesting = NonNullable<Implementation<unknown, unknown>["nested"]>;

/** Moves `nesting.fields` of `props` under `nesting.key`, and copies `nesting.copies` there. */
function nest<T>(props: T, nesting: Nesting | undefined): T {
  if (!nesting || !props) return props;
  const outer: Props = {};
  const inner: Props = {};
  for (const [k, v] of Object.entries(props as Props)) {
    (nesting.fields.includes(k) ? inner : outer)[k] = v;
    if (nesting.copies?.includes(k)) inner[k] = v;
  }
  return { ...outer, [nesting.key]: inner } as T;
}

/** The flat props the implementation knows; a state written before nesting passes as it is. */
function flat(props: unknown, nesting: Nesting | undefined): Props {
  const { [nesting?.key ?? ""]: inner, ...outer } = (props ?? {}) as Props;
  return nesting && inner && typeof inner === "object" ? { ...outer, ...inner } : (props as Props);
}

export function runtimeProvider<I, O>(impl: Implementation<I, O>): ResourceProvider {
  const conn: ConnectionConfig = {};
  const nesting = impl.nested;
  // Once per process, before the first diff: credentials that the gateway refuses, or a
  // gateway that is down, fail the preview (and so the drift check) once and at once, where
  // comparing with the state alone would report "no changes".
  let verified: Promise<unknown> | undefined;
  const verify = () =>
    (verified ??= clientFor(conn)
      .users.me()
      .catch((err: unknown) => {
        throw new Error(`appgw: cannot compare this stack with the gateway: ${messageOf(err)}`);
      }));

  return {
    async configure(req) {
      conn.apiHost = req.config.get("appgw:apiHost");
      conn.accessKey = req.config.get("appgw:accessKey");
      conn.secretKey = req.config.get("appgw:secretKey");
    },
    check: (olds, news) =>
      quiet(async () => {
        const [apiHost, rest] = host(news);
        const result = await impl.check(host(olds)[1] as Partial<I>, rest);
        return result.inputs ? { ...result, inputs: withHost(result.inputs, apiHost) } : result;
      }),
    diff: (id, olds, news) =>
      quiet(async () => {
        await verify();
        const [oldHost, o] = host(flat(olds, nesting));
        const [newHost, n] = host(news);
        const result = await impl.diff(id, o as O, n as I, conn);
        return result.changes || (!legacy(olds) && oldHost === newHost)
          ? result
          : { ...result, changes: true };
      }),
    create: (inputs) =>
      quiet(async () => {
        const [apiHost, rest] = host(inputs);
        const result = await impl.create(rest as I, conn);
        return { ...result, outs: nest(withHost(result.outs, apiHost), nesting) };
      }),
    read: (id, props) =>
      quiet(async () => {
        const [apiHost, rest] = host(flat(props, nesting));
        const result = await impl.read(id, rest as O, conn);
        return {
          ...result,
          ...(result.props ? { props: nest(withHost(result.props, apiHost), nesting) } : {}),
          ...(result.inputs ? { inputs: withHost(result.inputs, apiHost) } : {}),
        };
      }),
    update: (id, olds, news) =>
      quiet(async () => {
        const [oldHost, o] = host(flat(olds, nesting));
        const [newHost, n] = host(news);
        if (legacy(olds) && !(await impl.diff(id, o as O, n as I, conn)).changes) {
          const { __provider, ...outs } = o;
          return { outs: nest(withHost(outs, newHost), nesting) as O };
        }
        try {
          const result = await impl.update(id, o as O, n as I, conn);
          return { ...result, outs: nest(withHost(result.outs, newHost), nesting) };
        } catch (err) {
          if (oldHost === newHost || !(err instanceof Error)) throw err;
          throw new Error(
            `appgw:apiHost is ${newHost ?? "unset"}, and this resource was made on ${oldHost ?? "another gateway"}: ${err.message}`,
          );
        }
      }),
    delete: (id, props) => quiet(() => impl.delete(id, host(flat(props, nesting))[1] as O, conn)),
  };
}

/** Every method, so the shim can forward each one. */
export type ResourceProvider = Required<pulumi.dynamic.ResourceProvider>;
