#!/usr/bin/env node
// `npm start`: the all-in-one gateway on loopback, or one part of it with --role.
//   npm start                                 API + router + agent
//   npm start -- --role api                   control API only
//   npm start -- --role router                a router (ClearML's router env contract)
//   npm start -- --role agent --queue gpu     an agent serving queue "gpu"
import path from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { ReferenceGatewayClient } from "@appgw/sdk/reference";
import { agentConfigFromEnv, startAgent } from "./agent";
import { buildApp } from "./api/app";
import { apiSettingsFromEnv, bootstrapAdmin, startGateway, type Credentials } from "./index";
import { routerConfigFromEnv, startRouter } from "./router";

const HELP = `Usage: npm start -- [--role all|api|router|agent] [--queue NAME]... [--data-dir DIR] [--api-port N]

Settings also come from the environment:
  APPGW_DATA_DIR, APPGW_API_PORT, APPGW_API_HOST (listen address), APPGW_ADMIN_ACCESS_KEY,
  APPGW_ADMIN_SECRET_KEY, APPGW_AGENT_QUEUES, APPGW_WORKER_NAME,
  the control API's: APPGW_TOKEN_TTL_SEC (86400, at most 604800), APPGW_LOGIN_FAILURES_PER_KEY
  (10), APPGW_LOGIN_FAILURES_PER_ADDRESS (50), APPGW_LOGIN_WINDOW_SEC (900),
  APPGW_TRUSTED_PROXIES (none), APPGW_FILTER_BUDGET_MS (20), APPGW_API_HEADERS_TIMEOUT (20),
  APPGW_API_REQUEST_TIMEOUT (30), APPGW_API_IDLE_TIMEOUT (45),
  and the router's: ROUTER_NAME, ROUTER_URL, ROUTER__WEBSERVER__SERVER_PORT, ROUTER_DOMAIN,
  CLEARML_API_HOST, CLEARML_API_ACCESS_KEY, CLEARML_API_SECRET_KEY, AUTH_COOKIE_NAME,
  AUTH_SECURE_ENABLED, LISTEN_QUEUE_NAME, TCP_ROUTER_ADDRESS, TCP_PORT_START, TCP_PORT_END,
  and its limits: APPGW_MAX_BODY_SIZE (1g), APPGW_ROUTE_MAX_BODY_SIZE, APPGW_HEADERS_TIMEOUT (20),
  APPGW_BODY_TIMEOUT (20), APPGW_BODY_MIN_RATE (500), APPGW_IDLE_TIMEOUT (30),
  APPGW_KEEPALIVE_TIMEOUT (65), APPGW_MAX_CONNECTIONS (10000),
  APPGW_MAX_CONNECTIONS_PER_ADDRESS (1024), APPGW_TARGET_FAIL_TIMEOUT (10).
Every limit is described in docs/security.md.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: "string", default: "all" },
      queue: { type: "string", multiple: true },
      "data-dir": { type: "string" },
      "api-port": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const env = process.env;
  const logger = pino({ level: env.LOG_LEVEL ?? "info" });
  const dataDir = path.resolve(
    values["data-dir"] ?? env.APPGW_DATA_DIR ?? path.join(__dirname, "..", ".appgw", "data"),
  );
  const apiPort = Number(values["api-port"] ?? env.APPGW_API_PORT ?? 8008);
  const host = env.APPGW_API_HOST ?? "127.0.0.1";
  const admin: Credentials | undefined =
    env.APPGW_ADMIN_ACCESS_KEY && env.APPGW_ADMIN_SECRET_KEY
      ? { accessKey: env.APPGW_ADMIN_ACCESS_KEY, secretKey: env.APPGW_ADMIN_SECRET_KEY }
      : undefined;
  const agentEnv = values.queue ? { ...env, APPGW_AGENT_QUEUES: values.queue.join(" ") } : env;
  const apiSettings = values.role === "all" || values.role === "api" ? apiSettingsFromEnv(env) : {};
  let close: () => Promise<void>;

  switch (values.role) {
    case "all": {
      const gw = await startGateway({
        ...apiSettings,
        dataDir,
        apiPort,
        host,
        admin,
        router: env,
        agent: agentEnv,
        logger,
      });
      console.log(`\nApp gateway ready (data in ${dataDir})`);
      console.log(`  API:    ${gw.apiUrl}    (CLEARML_API_HOST)`);
      console.log(`  Router: ${gw.router?.url}`);
      console.log(
        `  Agent:  ${gw.agent?.worker} on queue(s) ${agentConfigFromEnv(agentEnv).queues.join(", ")}`,
      );
      printAdmin(gw.generatedAdmin, admin);
      close = gw.close;
      break;
    }
    case "api": {
      const api = await buildApp({ ...apiSettings, dataDir, logger });
      const generated = await bootstrapAdmin(api.store, admin);
      const address = await api.app.listen({ port: apiPort, host });
      console.log(`\nControl API ready at ${address} (data in ${dataDir})`);
      printAdmin(generated, admin);
      close = () => api.app.close();
      break;
    }
    case "router": {
      const router = await startRouter(routerConfigFromEnv(env), { logger });
      console.log(`\nRouter ready at ${router.url}`);
      close = router.close;
      break;
    }
    case "agent": {
      const agent = await startAgent(
        agentConfigFromEnv(agentEnv),
        ReferenceGatewayClient.fromEnv(),
        logger,
      );
      console.log(`\nAgent ${agent.worker} ready`);
      close = agent.close;
      break;
    }
    default:
      throw new Error(`--role must be all, api, router or agent (got '${values.role}')`);
  }

  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(1);
    stopping = true;
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

function printAdmin(generated: Credentials | undefined, given: Credentials | undefined): void {
  if (generated) {
    console.log("  Admin credentials (generated now, shown once; keep them):");
    console.log(`    access key: ${generated.accessKey}`);
    console.log(`    secret key: ${generated.secretKey}`);
  } else if (given) {
    console.log(`  Admin: access key ${given.accessKey} (from APPGW_ADMIN_ACCESS_KEY)`);
  } else {
    console.log(
      "  Admin: as created on first start (set APPGW_ADMIN_ACCESS_KEY/APPGW_ADMIN_SECRET_KEY to reset)",
    );
  }
  console.log("");
}

main().catch((err: unknown) => {
  const e = err as { code?: string; message?: string; field?: string };
  console.error(`appgw: ${e.message ?? String(err)}${e.code ? ` [${e.code}]` : ""}`);
  process.exit(1);
});
