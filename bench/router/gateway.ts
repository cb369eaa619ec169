// The gateways the data plane bench measures: started in this process, with the routes and the
// tasks behind them set up by the bench itself.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startGateway, type RunningGateway } from "@appgw/gateway";
import { AppGatewayClient, EXTERNAL_SERVICE_TAG, RUNTIME } from "@appgw/sdk";
import { tempPath } from "../proc";
import { waitRouted } from "./http";
import { ADMIN } from "./options";
import { logger } from "./results";

export interface BenchGateway {
  gw: RunningGateway;
  client: AppGatewayClient;
  routerUrl: string;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startBenchGateway(agent: NodeJS.ProcessEnv | false): Promise<BenchGateway> {
  const dataDir = tempPath(fs.mkdtempSync(path.join(os.tmpdir(), "appgw-bench-")));
  const gw = await startGateway({
    dataDir,
    apiPort: 0,
    admin: ADMIN,
    router: { ROUTER__WEBSERVER__SERVER_PORT: "0" },
    agent,
    logger,
  });
  if (!gw.router) throw new Error("the gateway started without its router");
  await gw.router.ready;
  // The router's URL names `localhost`; the bench stays on 127.0.0.1.
  const routerUrl = `http://127.0.0.1:${gw.router.port}`;
  return {
    gw,
    client: new AppGatewayClient({ apiHost: gw.apiUrl, ...ADMIN }),
    routerUrl,
    dataDir,
    stop: async () => {
      await gw.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Plays the agent (as tests/provider/routerTest.test.ts does): a task taken from a queue by a worker
 * of ours, started, whose runtime properties point at the bench upstream through `routeName`.
 */
async function attachTask(
  client: AppGatewayClient,
  name: string,
  routeName: string,
  upstreamPort: number,
): Promise<string> {
  const queue = await client.queues.ensure("bench-hand");
  const worker = "bench-hand";
  await client.workers.register(worker, [queue]);
  const task = await client.tasks.create({ name, type: "application" });
  await client.tasks.enqueue(task, queue);
  const next = await client.queues.next(queue);
  if (next !== task) throw new Error(`expected task ${task} from the queue, got ${next}`);
  await client.tasks.report("started", task);
  await client.workers.statusReport(worker, task);
  await client.tasks.editRuntime(task, {
    [RUNTIME.service]: "EXTERNAL",
    [RUNTIME.address]: "127.0.0.1",
    [RUNTIME.port]: String(upstreamPort),
    [RUNTIME.mode]: "path",
    [RUNTIME.modeParam]: routeName,
  });
  await client.tasks.edit({ task, system_tags: [EXTERNAL_SERVICE_TAG], force: true });
  return task;
}

/** The measured routes, all in front of the bench upstream, once they route. */
export interface BenchRoutes {
  /** The admin user's id (the subject of the tokens). */
  adminId: string;
  /** An `Authorization: Bearer` header for /bench-auth, in wrk's form. */
  bearer: string[];
}

/**
 * `/bench-static` (public), `/bench-auth` (authenticated) and the name `bench-rc` (the route-change
 * phases create and delete routes of that name), each with a task of ours behind it.
 */
export async function setUpRoutes(b: BenchGateway, upstreamPort: number): Promise<BenchRoutes> {
  const { client, routerUrl } = b;
  await client.routes.save({
    name: "bench-static",
    type: "path",
    path: "/bench-static",
    auth_enabled: false,
    load_balancer: { enabled: false },
  });
  await client.routes.save({
    name: "bench-auth",
    type: "path",
    path: "/bench-auth",
    auth_enabled: true,
    load_balancer: { enabled: false },
  });
  await attachTask(client, "bench-static-task", "bench-static", upstreamPort);
  await attachTask(client, "bench-auth-task", "bench-auth", upstreamPort);
  await attachTask(client, "bench-rc-task", "bench-rc", upstreamPort);
  const admin = await client.users.findByName("admin");
  if (!admin) throw new Error("no user named admin");
  const claims = { sub: admin.id, name: "admin" };
  const token = await b.gw.api.tokens.sign(claims, 3600);
  await waitRouted(`${routerUrl}/bench-static/`);
  await waitRouted(`${routerUrl}/bench-auth/`, { authorization: `Bearer ${token}` });
  return { adminId: admin.id, bearer: [`Authorization: Bearer ${token}`] };
}
