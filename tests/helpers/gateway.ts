// Starts a real gateway (API on port 0, real SQLite file in a temp folder) for a test file.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { request } from "undici";
import {
  startGateway,
  type Credentials,
  type GatewayOptions,
  type RunningGateway,
} from "@appgw/gateway";
import { AppGatewayClient } from "@appgw/sdk";
import { ReferenceGatewayClient } from "../../sdk/reference";

export interface TestGateway {
  gw: RunningGateway;
  apiUrl: string;
  routerUrl: string;
  admin: Credentials;
  /** A client logged in as the administrator; it also reaches the gateway's own `appgw.*` calls. */
  client: ReferenceGatewayClient;
  dataDir: string;
  /** Stops the gateway and starts it again on the same data folder and ports. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Start the embedded router (on a free port). Default true. */
  router?: boolean | NodeJS.ProcessEnv;
  /** Start the embedded agent. Default true. */
  agent?: boolean | NodeJS.ProcessEnv;
  tokenTtlSec?: number;
  /** Start on this data folder (an older gateway's, say) instead of a new one. */
  dataDir?: string;
  /** The settings page's options (GatewayOptions.console). */
  console?: GatewayOptions["console"];
  /** Peers whose forwarded headers the API believes (`APPGW_TRUSTED_PROXIES`). Default none. */
  trustedProxies?: string[];
}

export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "appgw-test-"));
  const admin = { accessKey: "TESTADMINKEY", secretKey: "test-admin-secret-0123456789" };
  const logger = pino({ level: process.env.LOG_LEVEL ?? "silent" });
  const routerEnv = typeof opts.router === "object" ? opts.router : {};
  const agentEnv = typeof opts.agent === "object" ? opts.agent : {};
  const options = (apiPort: number, routerPort: number): GatewayOptions => ({
    dataDir,
    apiPort,
    admin,
    logger,
    tokenTtlSec: opts.tokenTtlSec,
    console: opts.console,
    trustedProxies: opts.trustedProxies,
    router:
      opts.router === false
        ? false
        : { ROUTER__WEBSERVER__SERVER_PORT: String(routerPort), ...routerEnv },
    agent: opts.agent === false ? false : { APPGW_WORKER_NAME: "test-agent", ...agentEnv },
  });
  let gw = await startGateway(options(0, 0));
  const apiPort = Number(new URL(gw.apiUrl).port);
  const routerPort = gw.router?.port ?? 0;
  const t: TestGateway = {
    gw,
    apiUrl: gw.apiUrl,
    routerUrl: gw.router?.url ?? "",
    admin,
    client: new ReferenceGatewayClient({ apiHost: gw.apiUrl, ...admin }),
    dataDir,
    restart: async () => {
      await gw.close();
      gw = await startGateway(options(apiPort, routerPort));
      t.gw = gw;
    },
    stop: async () => {
      await gw.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

/**
 * A raw control API call, for assertions on the wire format itself. `action` may carry a version
 * prefix (`v2.31/auth.login`) or a query string; a GET sends no body unless one is given.
 */
export async function rawCall(
  apiUrl: string,
  action: string,
  body: unknown,
  headers: Record<string, string> = {},
  method: "GET" | "POST" = "POST",
): Promise<{ status: number; headers: Record<string, unknown>; json: any }> {
  const res = await request(`${apiUrl}/${action}`, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    json: text ? JSON.parse(text) : undefined,
  };
}

/** `Authorization: Basic` for these credentials. */
export const basicAuth = (accessKey: string, secretKey: string): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`${accessKey}:${secretKey}`).toString("base64")}`,
});

/** `Authorization: Bearer` with the client's current token. */
export const bearerAuth = async (client: AppGatewayClient): Promise<Record<string, string>> => ({
  authorization: `Bearer ${await client.token()}`,
});

/** Creates a non-admin user and returns a client logged in as them. */
export async function userClient(
  t: TestGateway,
  name: string,
): Promise<{ id: string; client: AppGatewayClient }> {
  const { id, credentials } = await t.client.addUser({ name });
  return {
    id,
    client: new AppGatewayClient({
      apiHost: t.apiUrl,
      accessKey: credentials.access_key,
      secretKey: credentials.secret_key,
    }),
  };
}

export { eventually, rejection } from "./async";
