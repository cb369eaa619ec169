// Helpers shared by the resource implementations. This module runs in the provider process
// (loaded from disk by the shim), so module-level state such as the client cache is fine here.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { AppGatewayClient, MANAGED_BY_MAX_LENGTH, messageOf } from "@appgw/sdk";
import { readsFor } from "./reads";
import type { ConnectionConfig } from "./shim";

/** The value Pulumi sends for inputs not known yet during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const clients = new Map<string, AppGatewayClient>();

/**
 * The client for the connection settings: stack config (`appgw:apiHost`, `appgw:accessKey`,
 * `appgw:secretKey`) first, then `CLEARML_API_HOST`, `CLEARML_API_ACCESS_KEY`,
 * `CLEARML_API_SECRET_KEY`. One client (one login) per settings.
 */
export function clientFor(conn: ConnectionConfig): AppGatewayClient {
  const apiHost = conn.apiHost || process.env.CLEARML_API_HOST;
  const accessKey = conn.accessKey || process.env.CLEARML_API_ACCESS_KEY;
  const secretKey = conn.secretKey || process.env.CLEARML_API_SECRET_KEY;
  if (!apiHost || !accessKey || !secretKey) {
    throw new Error(
      "appgw: no gateway connection settings. Set stack config appgw:apiHost, appgw:accessKey and " +
        "appgw:secretKey (pulumi config set --secret appgw:secretKey ...), or the environment variables " +
        "CLEARML_API_HOST, CLEARML_API_ACCESS_KEY and CLEARML_API_SECRET_KEY",
    );
  }
  const key = `${apiHost}\n${accessKey}\n${secretKey}`;
  let client = clients.get(key);
  if (!client) {
    // A Pulumi run is short: once the gateway proved unreachable, or refused these
    // credentials, every other resource fails at once with the same error.
    const made: AppGatewayClient = new AppGatewayClient({
      apiHost,
      accessKey,
      secretKey,
      failFastMs: 30_000,
      // Shared reads must not hide this process's own writes.
      afterWrite: (action, body, answer) => readsFor(made).wrote(action, body, answer),
    });
    clients.set(key, (client = made));
  }
  return client;
}

/**
 * Forgets every client and what it read: the state a new provider process starts in. Each
 * Pulumi command runs its own process; tests that model several commands in one call this
 * between them.
 */
export function forgetConnections(): void {
  clients.clear();
}

/**
 * Validates inputs with a zod schema, skipping fields whose value is not known yet, and returns
 * every failure at once with the property that caused it.
 */
export function checkInputs<S extends z.ZodType>(
  schema: S,
  news: Record<string, unknown>,
): pulumi.dynamic.CheckResult<z.output<S>> {
  const known: Record<string, unknown> = {};
  const unknown: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(news)) {
    if (k === "__provider") continue;
    if (containsUnknown(v)) unknown[k] = v;
    else known[k] = v;
  }
  // Unknown fields are validated for real at `up`, once their values exist.
  const result = schema.safeParse(known);
  if (result.success) {
    return { inputs: { ...(result.data as object), ...unknown } as z.output<S> };
  }
  // One failure per property, with every reason it failed for.
  const reasons = new Map<string, string[]>();
  for (const issue of result.error.issues) {
    if (String(issue.path[0]) in unknown) continue;
    const property = issue.path.length ? issue.path.join(".") : "inputs";
    reasons.set(property, [...(reasons.get(property) ?? []), issue.message]);
  }
  const failures = [...reasons].map(([property, r]) => ({ property, reason: r.join("; ") }));
  return failures.length ? { failures } : { inputs: { ...known, ...unknown } as z.output<S> };
}

/**
 * `checkInputs` of a resource whose program also passes its managed-by marker (`__managedBy`):
 * a label for the gateway's pages, kept only as a header can carry it, so no write fails for it.
 */
export function checkMarkedInputs<S extends z.ZodType>(
  schema: S,
  news: Record<string, unknown>,
): pulumi.dynamic.CheckResult<z.output<S> & { __managedBy?: string }> {
  const { __managedBy: marker, ...rest } = news;
  const result = checkInputs(schema, rest);
  return result.inputs && usableMarker(marker)
    ? { ...result, inputs: { ...result.inputs, __managedBy: marker } }
    : (result as pulumi.dynamic.CheckResult<z.output<S> & { __managedBy?: string }>);
}

function containsUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  return false;
}

/** Equal as sets of strings (order and duplicates ignored). */
export function sameSet(
  a: readonly string[] | undefined,
  b: readonly string[] | undefined,
): boolean {
  const x = new Set(a ?? []);
  const y = new Set(b ?? []);
  return x.size === y.size && [...x].every((v) => y.has(v));
}

export function sorted(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/** A set of strings as an input: de-duplicated and sorted, so state, refresh and program agree. */
export function stringSet(): z.ZodPipe<
  z.ZodArray<z.ZodString>,
  z.ZodTransform<string[], string[]>
> {
  return z.array(z.string().min(1)).transform(sorted);
}

/** ClearML's request fields, by the resource input they come from. */
const INPUT_OF_FIELD: Record<string, string> = {
  user_groups: "accessGroups",
  auth_enabled: "authenticated",
  "load_balancer.enabled": "loadBalanced",
  load_balancer: "loadBalanced",
  users: "members",
};

/** The message of a refused call, led by the input it concerns when the gateway named a field. */
export function refusal(err: unknown): string {
  const field = (err as { details?: { field?: unknown } }).details?.field;
  const input = typeof field === "string" ? (INPUT_OF_FIELD[field] ?? field) : undefined;
  return input ? `${input}: ${messageOf(err)}` : messageOf(err);
}

/**
 * True for a marker a header can carry (visible ASCII, at most MANAGED_BY_MAX_LENGTH): what
 * `check` keeps of `__managedBy`. A label is never a reason to refuse a program.
 */
export function usableMarker(marker: unknown): marker is string {
  return (
    typeof marker === "string" &&
    marker.length <= MANAGED_BY_MAX_LENGTH &&
    /^[\x21-\x7e]+$/.test(marker)
  );
}

// Ownership records. A ClearML server keeps only the documented fields of an access rule (name,
// description, users, groups, entity_type, entity_id, access_permission) and of a group (name,
// description, users), and ignores headers it does not know: so Group and GroupAccess record
// the stack and resource that own what they write in its description, as its last line,
// `managed-by: <marker>`. What a lost answer or an interrupted run left behind is found again
// by that record, and only what carries this stack's and resource's record is taken.

/** The longest description `permissions.add_or_update_user_group` and `_access_rule` take. */
export const DESCRIPTION_MAX_LENGTH = 1024;
const OWNER_LINE = "managed-by: ";

/** `text` with the record of `owner` as its last line; `text` alone when that does not fit. */
export function withOwner(text: string, owner: string | undefined): string {
  if (owner === undefined) return text;
  const recorded = text ? `${text}\n${OWNER_LINE}${owner}` : `${OWNER_LINE}${owner}`;
  return recorded.length <= DESCRIPTION_MAX_LENGTH ? recorded : text;
}

/** A description as its text and the owner its last line records (none: not recorded). */
export function ownerOf(description: string | null | undefined): { text: string; owner?: string } {
  const d = description ?? "";
  const last = d.lastIndexOf("\n") + 1;
  if (!d.startsWith(OWNER_LINE, last)) return { text: d };
  return { text: d.slice(0, Math.max(0, last - 1)), owner: d.slice(last + OWNER_LINE.length) };
}
