// The embedded gateway: control API, one router and one agent in one process, on loopback.
// Each part can also run alone (gateway/main.ts --role); this module is what `npm start`,
// the demo and the tests start.
import type { AddressInfo } from "node:net";
import pino, { type Logger } from "pino";
import { ReferenceGatewayClient } from "@appgw/sdk/reference";
import { agentConfigFromEnv, startAgent, type RunningAgent } from "./agent";
import { buildApp, type ApiApp } from "./api/app";
import type { ApiSettings } from "./api/settings";
import { generateCredentials, hashSecret } from "./api/tokens";
import { injectTransport } from "./inject-transport";
import { routerConfigFromEnv, startRouter, type RunningRouter } from "./router";
import type { Store } from "./store";

export { buildApp } from "./api/app";
export { apiSettingsFromEnv, type ApiSettings } from "./api/settings";

export interface Credentials {
  accessKey: string;
  secretKey: string;
}

/** `ApiSettings`: the control API's settings (`apiSettingsFromEnv` reads them from `APPGW_*`). */
export interface GatewayOptions extends ApiSettings {
  dataDir: string;
  /** Control API listen port; 0 picks a free one. Default 8008. */
  apiPort?: number;
  /** Listen address of the API. Default 127.0.0.1. */
  host?: string;
  /** The first administrator's credentials (`APPGW_ADMIN_ACCESS_KEY` / `APPGW_ADMIN_SECRET_KEY`). */
  admin?: Credentials;
  /** Router settings in its env contract (`ROUTER__WEBSERVER__SERVER_PORT`, ...); false: no router. */
  router?: NodeJS.ProcessEnv | false;
  /** Agent settings (`APPGW_AGENT_QUEUES`, `APPGW_WORKER_NAME`, ...); false: no agent. */
  agent?: NodeJS.ProcessEnv | false;
  logger?: Logger;
}

export interface RunningGateway {
  apiUrl: string;
  api: ApiApp;
  router?: RunningRouter;
  agent?: RunningAgent;
  /** Set when the administrator was created now with generated credentials: show them once. */
  generatedAdmin?: Credentials;
  close(): Promise<void>;
}

/**
 * Creates the administrator on first start (from `admin`, or generated), and keeps an existing
 * one in step with `admin` when given: its default key pair is replaced, so rotating the env
 * rotates the credentials (key pairs it made itself with auth.create_credentials stay).
 */
export async function bootstrapAdmin(
  store: Store,
  admin?: Credentials,
): Promise<Credentials | undefined> {
  if (admin) {
    store.users.upsertWithDefaultCredentials(
      { name: "admin", role: "admin" },
      { accessKey: admin.accessKey, secretHash: await hashSecret(admin.secretKey) },
    );
    return undefined;
  }
  if (store.users.count() > 0) return undefined;
  const generated = generateCredentials();
  store.users.create(
    { name: "admin", role: "admin" },
    { accessKey: generated.accessKey, secretHash: await hashSecret(generated.secretKey) },
  );
  return generated;
}

/**
 * The embedded router and agent log in as the service account `appgw-system`, whose secret is
 * renewed at every start and never leaves this process.
 */
async function systemCredentials(store: Store): Promise<Credentials> {
  const creds = generateCredentials();
  store.users.upsertWithDefaultCredentials(
    { name: "appgw-system", role: "user", service: true },
    { accessKey: creds.accessKey, secretHash: await hashSecret(creds.secretKey) },
  );
  return creds;
}

export async function startGateway(opts: GatewayOptions): Promise<RunningGateway> {
  const logger = opts.logger ?? pino({ level: process.env.LOG_LEVEL ?? "info" });
  const api = await buildApp({
    dataDir: opts.dataDir,
    tokenTtlSec: opts.tokenTtlSec,
    loginLimits: opts.loginLimits,
    trustedProxies: opts.trustedProxies,
    filterBudgetMs: opts.filterBudgetMs,
    timeouts: opts.timeouts,
    console: opts.console,
    logger: logger.child({ role: "api" }),
  });
  const generatedAdmin = await bootstrapAdmin(api.store, opts.admin);
  const host = opts.host ?? "127.0.0.1";
  await api.app.listen({ port: opts.apiPort ?? 8008, host });
  const { port } = api.app.server.address() as AddressInfo;
  const apiUrl = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  const parts: { router?: RunningRouter; agent?: RunningAgent } = {};
  try {
    if (opts.router !== false || opts.agent !== false) {
      const system = await systemCredentials(api.store);
      const client = () => new ReferenceGatewayClient({ apiHost: apiUrl, ...system });
      if (opts.router !== false) {
        const config = routerConfigFromEnv({
          ...opts.router,
          CLEARML_API_HOST: apiUrl,
          CLEARML_API_ACCESS_KEY: system.accessKey,
          CLEARML_API_SECRET_KEY: system.secretKey,
        });
        parts.router = await startRouter(config, {
          client: client(),
          logger: logger.child({ role: "router" }),
          // The login page signs a browser in through the API in this process, from the
          // browser's own address: the API counts each browser's failed logins without trusting
          // an X-Forwarded-For from loopback, where any local process (a task, say) can send one.
          loginTransport: (address) => injectTransport(api.app, address),
        });
      }
      if (opts.agent !== false) {
        const agentConfig = agentConfigFromEnv(opts.agent ?? {});
        // The embedded agent's queues are the platform's: made here, as its service account may
        // not create queues (api/policy.ts).
        for (const name of agentConfig.queues) {
          if (!api.store.queues.byName(name)) api.store.queues.create({ name });
        }
        parts.agent = await startAgent(agentConfig, client(), logger);
      }
    }
  } catch (err) {
    await parts.router?.close();
    await api.app.close();
    throw err;
  }

  return {
    apiUrl,
    api,
    ...parts,
    generatedAdmin,
    close: async () => {
      await parts.agent?.close();
      await parts.router?.close();
      await api.app.close();
    },
  };
}
