// The route table: built from one `appgw.get_router_config` answer, never changed afterwards. The
// router swaps the whole table at once (as Traefik swaps its handler tree), so a request resolves
// against one consistent table from start to end.
import { isIPv6 } from "node:net";
import type { RouteConfig, ServiceConfig } from "@appgw/sdk/contract";
import { affinityCookieName } from "./affinity";
import { encodeSegment } from "./path";

export interface Target {
  /** Task id and endpoint name: stable across table swaps, named by affinity cookies. */
  key: string;
  /** Key and address: a task that comes back on another address is another target. */
  uid: string;
  task: string;
  endpointName: string | null;
  address: string;
  port: number;
  /** `ip:port` (IPv6 in brackets), as reported to the control plane. */
  hostPort: string;
  /** `http://ip:port`: one connection pool per origin. */
  origin: string;
}

export type RouteKind = "path" | "subdomain" | "service";

export interface RouteEntry {
  /** The static route's id, or `service:<task>:<endpoint>` for an ephemeral route. */
  id: string;
  name: string;
  kind: RouteKind;
  /** Path prefix matched and stripped before forwarding; "" for subdomain routes. */
  prefix: string;
  /** `<subdomain>.<domain>` for subdomain routes. */
  host: string | null;
  authenticated: boolean;
  /** Only `groups` and `users` may use it; false: every authenticated user may. */
  restricted: boolean;
  /** Group ids allowed. */
  groups: readonly string[];
  /** User ids allowed besides the members of `groups`. */
  users: readonly string[];
  loadBalanced: boolean;
  targets: readonly Target[];
  targetsByKey: ReadonlyMap<string, Target>;
  /** The endpoint URL reported to the control plane. */
  url: string;
  /** Session affinity cookie (load-balanced routes). */
  affinityCookie: string;
  cookiePath: string;
  /**
   * Where and how it is served, without the targets and who may use it: when it changes, open
   * connections of the route are closed (access changes are checked per connection, tracker.ts).
   */
  signature: string;
}

export interface RouteTable {
  revision: number;
  /** Static routes in config order, then ephemeral `/service/` routes. */
  routes: readonly RouteEntry[];
  byId: ReadonlyMap<string, RouteEntry>;
  byPrefix: ReadonlyMap<string, RouteEntry>;
  byHost: ReadonlyMap<string, RouteEntry>;
  /** Services asking for raw TCP endpoints. */
  tcpServices: readonly ServiceConfig[];
  /** Current groups of every user (see `appgw.get_router_config`), by user id. */
  members: ReadonlyMap<string, readonly string[]>;
}

export interface TableInput {
  revision: number;
  routes: readonly RouteConfig[];
  services: readonly ServiceConfig[];
  members: Readonly<Record<string, readonly string[]>>;
}

export interface TableContext {
  /** External URL of the router, without a trailing slash. */
  routerUrl: string;
  /** Parent domain of subdomain routes. */
  domain: string;
}

export const EMPTY_TABLE: RouteTable = {
  revision: -1,
  routes: [],
  byId: new Map(),
  byPrefix: new Map(),
  byHost: new Map(),
  tcpServices: [],
  members: new Map(),
};

export const SERVICE_PREFIX = "/service/";

export function targetKey(task: string, endpointName: string | null): string {
  // encodeURIComponent escapes ':' (so the key splits unambiguously) and every character a
  // cookie value may not hold (affinity cookies are `<key>.<mac>`).
  return `${encodeURIComponent(task)}:${encodeURIComponent(endpointName ?? "")}`;
}

function toTarget(s: ServiceConfig): Target {
  const hostPart = isIPv6(s.address) ? `[${s.address}]` : s.address;
  const key = targetKey(s.task, s.endpoint_name);
  return {
    key,
    uid: `${key}@${hostPart}:${s.port}`,
    task: s.task,
    endpointName: s.endpoint_name,
    address: s.address,
    port: s.port,
    hostPort: `${hostPart}:${s.port}`,
    origin: `http://${hostPart}:${s.port}`,
  };
}

/** Oldest first; task and endpoint name break ties so every replica picks the same target. */
function byCreated(a: ServiceConfig, b: ServiceConfig): number {
  return (
    (Date.parse(a.created) || 0) - (Date.parse(b.created) || 0) ||
    compare(a.task, b.task) ||
    compare(a.endpoint_name ?? "", b.endpoint_name ?? "")
  );
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Completes a route entry with the fields derived from the others. */
function routeEntry(
  base: Omit<RouteEntry, "targetsByKey" | "affinityCookie" | "cookiePath" | "signature">,
): RouteEntry {
  const groups = [...base.groups].sort();
  const users = [...base.users].sort();
  return {
    ...base,
    groups,
    users,
    targetsByKey: new Map(base.targets.map((t) => [t.key, t])),
    affinityCookie: affinityCookieName(base.id),
    cookiePath: base.prefix || "/",
    signature: JSON.stringify([base.kind, base.prefix, base.host, base.authenticated]),
  };
}

export function buildRouteTable(input: TableInput, ctx: TableContext): RouteTable {
  const origin = new URL(ctx.routerUrl);
  const subdomainUrl = (sub: string) =>
    `${origin.protocol}//${sub}.${ctx.domain}${origin.port ? `:${origin.port}` : ""}`;

  const http: ServiceConfig[] = [];
  const tcpServices: ServiceConfig[] = [];
  const seen = new Set<string>();
  for (const s of [...input.services].sort(byCreated)) {
    const key = targetKey(s.task, s.endpoint_name);
    if (seen.has(key)) continue;
    seen.add(key);
    (s.protocol === "tcp" ? tcpServices : http).push(s);
  }

  const routes: RouteEntry[] = [];
  const byId = new Map<string, RouteEntry>();
  const byPrefix = new Map<string, RouteEntry>();
  const byHost = new Map<string, RouteEntry>();
  const add = (e: RouteEntry, index: Map<string, RouteEntry>, indexKey: string) => {
    // The control API keeps paths and subdomains unique; if it ever did not, the first wins.
    if (byId.has(e.id) || index.has(indexKey)) return;
    routes.push(e);
    byId.set(e.id, e);
    index.set(indexKey, e);
  };

  for (const r of input.routes) {
    if ((r.path === null) === (r.subdomain === null)) continue;
    const attached = http.filter((s) => s.static_route === r.name);
    // A single-endpoint route serves only the task that attached first.
    const targets = (r.load_balancer.enabled ? attached : attached.slice(0, 1)).map(toTarget);
    const common = {
      id: r.id,
      name: r.name,
      authenticated: r.auth_enabled,
      // An older control plane sends no `restricted`: a route listing anyone is restricted.
      restricted: r.restricted || r.groups.length > 0 || r.users.length > 0,
      groups: r.groups,
      users: r.users,
      loadBalanced: r.load_balancer.enabled,
      targets,
    };
    if (r.path !== null) {
      add(
        routeEntry({
          ...common,
          kind: "path",
          prefix: r.path,
          host: null,
          url: ctx.routerUrl + r.path,
        }),
        byPrefix,
        r.path,
      );
    } else if (r.subdomain !== null) {
      const host = `${r.subdomain.toLowerCase()}.${ctx.domain}`;
      add(
        routeEntry({
          ...common,
          kind: "subdomain",
          prefix: "",
          host,
          url: subdomainUrl(r.subdomain),
        }),
        byHost,
        host,
      );
    }
  }

  for (const s of http) {
    if (s.static_route !== null) continue;
    const suffix = s.endpoint_name === null ? "" : `-${encodeSegment(s.endpoint_name)}`;
    const prefix = `${SERVICE_PREFIX}${encodeSegment(s.task)}${suffix}`;
    const e = routeEntry({
      id: `service:${s.task}:${s.endpoint_name ?? ""}`,
      name: s.task_name,
      kind: "service",
      prefix,
      host: null,
      authenticated: true,
      restricted: false,
      groups: [],
      users: [],
      loadBalanced: false,
      targets: [toTarget(s)],
      url: `${ctx.routerUrl}${prefix}/`,
    });
    add(e, byPrefix, prefix);
  }

  const members = new Map(Object.entries(input.members));
  return { revision: input.revision, routes, byId, byPrefix, byHost, tcpServices, members };
}

/**
 * The Host header as routing sees it: lower case, without port or trailing dot. Subdomain
 * routes match only on this; a client-sent `X-Forwarded-Host` is never consulted.
 */
export function normalizeHost(host: string | undefined): string {
  if (!host) return "";
  const h = host.toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end === -1 ? "" : h.slice(0, end + 1);
  }
  const colon = h.indexOf(":");
  const name = colon === -1 ? h : h.slice(0, colon);
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

export interface RouteMatch {
  route: RouteEntry;
  /** The normalised path with the route prefix removed; never empty. */
  forwardPath: string;
}

/**
 * Resolves a normalised path. A subdomain route owns every path of its host; otherwise the
 * longest path prefix wins, matched on segment boundaries (`/llm` matches `/llm` and `/llm/x`,
 * never `/llmx`).
 */
export function lookupRoute(
  table: RouteTable,
  host: string | undefined,
  path: string,
): RouteMatch | null {
  if (table.byHost.size > 0) {
    const route = table.byHost.get(normalizeHost(host));
    if (route) return { route, forwardPath: path };
  }
  let candidate = path;
  for (;;) {
    const route = table.byPrefix.get(candidate);
    if (route) return { route, forwardPath: path.slice(candidate.length) || "/" };
    const slash = candidate.lastIndexOf("/");
    if (slash <= 0) return null;
    candidate = candidate.slice(0, slash);
  }
}
