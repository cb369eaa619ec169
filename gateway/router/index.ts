// The router (data plane): registers with the control API, follows its configuration with a
// long poll, proxies HTTP, WebSocket and raw TCP traffic to the tasks it serves, and writes each
// task's endpoint back onto it.
//
// Forwarding contract, for the apps behind it: a path route `/llm` receives `/llm/v1/x?q` as
// `/v1/x?q` (and `/llm` as `/`) with `X-Forwarded-Prefix: /llm`, so it can build its own
// external links; `/service/<task>/...` routes strip `/service/<task>` the same way; subdomain
// routes receive the path unchanged. `Host` is the client's; `X-Forwarded-For/Proto/Host` are
// always the router's own, and authenticated requests carry `X-Appgw-User` (name) and
// `X-Appgw-User-Id`. The gateway's cookies and Bearer token never reach the app.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type { AxiosInstance } from "axios";
import pino, { type Logger } from "pino";
import { APPGW_VERSION as version } from "../release";
import { ReferenceGatewayClient } from "@appgw/sdk/reference";
import { deriveAffinityKey } from "./affinity";
import { remoteKeys, TokenVerifier } from "./auth";
import type { RouterConfig } from "./config";
import { EndpointWriter } from "./endpoints";
import { errorFields } from "./errors";
import { ConnectionLimiter } from "./limits";
import { InternalPages } from "./login";
import { TargetHealth, UpstreamPools } from "./proxy";
import { buildReport } from "./report";
import { buildRouterServer } from "./server";
import { ServiceSelector } from "./services";
import { buildRouteTable, EMPTY_TABLE, type RouteEntry, type RouteTable } from "./table";
import { TcpForwarder } from "./tcp";
import { ConnectionTracker } from "./tracker";
import { ConfigWatcher } from "./watcher";

export { routerConfigFromEnv, type RouterConfig, type TcpConfig } from "./config";
export { buildRouterServer, type RouterServerDeps } from "./server";

export interface StartRouterOptions {
  /** The control API client; default: one built from the config's API host and credentials. */
  client?: ReferenceGatewayClient;
  /** Default: pino at `LOG_LEVEL` (default "info"). */
  logger?: Logger;
  /** How the login page's `auth.login` reaches the API for a browser (InternalPagesOptions). */
  loginTransport?: (address: string) => AxiosInstance;
}

export interface RunningRouter {
  /** The external URL. */
  readonly url: string;
  /** The port the router listens on (the real one when the config asked for 0). */
  readonly port: number;
  /** The router's id on the control plane: its `ROUTER_NAME`. */
  readonly id: string;
  /** Resolves once the first configuration is applied. */
  readonly ready: Promise<void>;
  /** The configuration revision in use; -1 before the first one. */
  revision(): number;
  /** Unregisters, stops following the configuration and closes every connection. */
  close(): Promise<void>;
}

/** The control plane re-signs keys rarely; this bounds how long a removed key stays trusted. */
const KEY_REFRESH_MS = 5 * 60_000;

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startRouter(
  config: RouterConfig,
  opts: StartRouterOptions = {},
): Promise<RunningRouter> {
  const logger = (opts.logger ?? pino({ level: process.env.LOG_LEVEL ?? "info" })).child({
    component: "router",
    router: config.name,
  });
  const client =
    opts.client ??
    new ReferenceGatewayClient({
      apiHost: config.apiHost,
      accessKey: config.accessKey,
      secretKey: config.secretKey,
    });
  const keys = remoteKeys(config.apiHost);
  const tracker = new ConnectionTracker();
  const pools = new UpstreamPools();
  const health = new TargetHealth(config.targetFailTimeoutMs, logger);
  const turns = new WeakMap<RouteEntry, number>();
  let table: RouteTable = EMPTY_TABLE;
  const proto = config.url?.startsWith("https:") ? "https" : "http";

  // One count for the HTTP port and every TCP port: APPGW_MAX_CONNECTIONS is the router's total.
  const connections = new ConnectionLimiter(config.limits, logger);
  const server = buildRouterServer({
    table: () => table,
    verifier: new TokenVerifier(keys.keys),
    affinityKey: deriveAffinityKey(config.secretKey),
    cookieName: config.cookieName,
    secureCookies: config.secureCookies,
    nextTurn: (route) => {
      const n = turns.get(route) ?? 0;
      turns.set(route, n + 1);
      return n;
    },
    targetUp: health.isUp,
    pools,
    health,
    tracker,
    pages: new InternalPages({
      apiHost: config.apiHost,
      cookieName: config.cookieName,
      secureCookies: config.secureCookies,
      proto,
      loginLimits: config.loginLimits,
      loginTransport: opts.loginTransport,
      health: () => ({ router: config.name, revision: table.revision }),
      logger,
    }),
    proto,
    limits: config.limits,
    connections,
    logger,
  });
  const port = await listen(server, config.port, config.host);
  const url = config.url ?? `http://localhost:${port}`;
  const tcp = config.tcp ? new TcpForwarder(config.tcp, config.host, connections, logger) : null;

  const selector = new ServiceSelector(client, config.name, config.queues);
  const endpoints = new EndpointWriter(client, logger);
  const watcher = new ConfigWatcher({
    client,
    logger,
    registration: { router: config.name, url, version },
    endpoints,
    apply: async (answer) => {
      const { services, runtimes } = await selector.select(answer.services);
      for (const [task, runtime] of runtimes) endpoints.seen(task, runtime);
      const next = buildRouteTable(
        { ...answer, services },
        { routerUrl: url, domain: config.domain },
      );
      const prev = table;
      table = next; // the swap: requests from here on resolve against `next`
      tracker.reconcile(prev, next);
      pools.retain(next);
      health.retain(next);
      logger.info({ revision: next.revision, routes: next.routes.length }, "route table applied");
      return buildReport(next, tcp ? await tcp.reconcile(next.tcpServices) : []);
    },
  });

  const keyRefresh = setInterval(() => {
    keys
      .refresh()
      .catch((err: unknown) => logger.warn({ error: errorFields(err) }, "JWKS refresh failed"));
  }, KEY_REFRESH_MS);
  keyRefresh.unref();

  // Unregistering on close only makes sense once registered.
  let started = false;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      clearInterval(keyRefresh);
      await watcher.stop(started);
      tracker.closeAll();
      tcp?.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      health.close();
      await pools.close();
    })());

  try {
    await watcher.start();
    started = true;
  } catch (err) {
    await close();
    throw err;
  }
  logger.info({ url, port }, "router started");
  return {
    url,
    port,
    id: config.name,
    ready: watcher.ready,
    revision: () => table.revision,
    close,
  };
}
