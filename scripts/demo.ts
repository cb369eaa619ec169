// `npm run demo`: the whole product on this machine, nothing else installed.
//   1. finds (or builds) the Pulumi CLI,
//   2. starts the embedded gateway on loopback (API, router, agent),
//   3. runs `pulumi up` of the root project (examples/local) against it,
//   4. prints the routes and the router test, starts an app on the `llm` route and sends a
//      request through it with a user's token,
//   5. keeps the gateway running until Ctrl-C.
// `npm run demo -- --destroy` destroys the stack (gateway started for the purpose) and stops.
// Everything lives in .appgw/ (git-ignored): gateway data, Pulumi state, demo credentials.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pino from "pino";
import { request } from "undici";
import { startGateway, type RunningGateway } from "@appgw/gateway";
import { AppGatewayClient } from "@appgw/sdk";
import { ReferenceGatewayClient } from "../sdk/reference";
import { PulumiProject, pulumiBinDir, REPO } from "./pulumi";

const WORK = path.join(REPO, ".appgw");
const STACK = "dev";

interface DemoSecrets {
  admin: { accessKey: string; secretKey: string };
  passphrase: string;
}

function step(n: number, text: string): void {
  console.log(`\n\x1b[1m[${n}] ${text}\x1b[0m`);
}

/** Credentials made on the first run and reused after, so the stack keeps working. */
function demoSecrets(): DemoSecrets {
  const file = path.join(WORK, "demo-secrets.json");
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8")) as DemoSecrets;
  const secrets: DemoSecrets = {
    admin: {
      accessKey: `DEMO${randomBytes(8).toString("hex").toUpperCase()}`,
      secretKey: randomBytes(24).toString("base64url"),
    },
    passphrase: process.env.PULUMI_CONFIG_PASSPHRASE ?? randomBytes(16).toString("base64url"),
  };
  fs.mkdirSync(WORK, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

async function main(): Promise<void> {
  const destroy = process.argv.includes("--destroy");
  const apiPort = Number(process.env.APPGW_API_PORT ?? 8008);
  const routerPort = process.env.ROUTER__WEBSERVER__SERVER_PORT ?? "8080";

  step(1, "Pulumi CLI");
  const binDir = pulumiBinDir(true);
  console.log(`using ${binDir}/pulumi`);

  step(2, "Embedded gateway");
  const secrets = demoSecrets();
  let gw: RunningGateway;
  try {
    gw = await startGateway({
      dataDir: path.join(WORK, "data"),
      apiPort,
      admin: secrets.admin,
      router: { ...process.env, ROUTER__WEBSERVER__SERVER_PORT: routerPort },
      agent: { APPGW_WORKER_NAME: "demo-agent", APPGW_AGENT_QUEUES: "default" },
      logger: pino({ level: process.env.LOG_LEVEL ?? "warn" }),
    });
  } catch (err) {
    throw new Error(
      `could not start the gateway on ports ${apiPort} (API) and ${routerPort} (router): ${(err as Error).message}. ` +
        "Stop what uses them, or set APPGW_API_PORT and ROUTER__WEBSERVER__SERVER_PORT",
    );
  }
  console.log(`API ${gw.apiUrl}, router ${gw.router?.url}, agent ${gw.agent?.worker}`);
  const admin = new ReferenceGatewayClient({ apiHost: gw.apiUrl, ...secrets.admin });

  const project = new PulumiProject(REPO, {
    binDir,
    workDir: path.join(WORK, "pulumi"),
    passphrase: secrets.passphrase,
  });
  await project.stack(STACK);
  await project.config(
    { "appgw:apiHost": gw.apiUrl, "appgw:accessKey": secrets.admin.accessKey },
    { "appgw:secretKey": secrets.admin.secretKey },
  );

  if (destroy) {
    step(3, "pulumi destroy");
    await project.ok(["destroy", "--yes"], { echo: true });
    await gw.close();
    console.log(
      "\nStack destroyed and gateway stopped. Gateway data stays in .appgw/data (delete the folder to start afresh).",
    );
    return;
  }

  // A user of the ML team, so the demo can call the authenticated `llm` route as them.
  const userKeys = await demoUserKeys(admin);
  await project.config({ teamMembers: JSON.stringify(["demo-user"]) });

  step(3, "pulumi up (examples/local: routes, a group, group access, a router test)");
  await project.ok(["up", "--yes", "--skip-preview"], { echo: true });

  step(4, "What the stack made");
  const outputs = await project.outputs();
  console.log(JSON.stringify(outputs, null, 2));

  step(5, "An app on the `llm` route, called with demo-user's token");
  const task = await admin.startEcho({
    queue: "default",
    name: "demo-llm-server",
    staticRoute: "llm",
    nonce: "demo",
  });
  const route = await waitForRouting(admin, "llm");
  const routeUrl = route.urls?.[0] ?? "";
  const targets = (route.tasks ?? []).map((t) => t.target).join(", ");
  console.log(`route 'llm' is ${route.status}: ${routeUrl} -> ${targets}`);
  const userClient = new AppGatewayClient({ apiHost: gw.apiUrl, ...userKeys });
  const token = await userClient.token();
  const url = `${routeUrl}/v1/models`;
  const res = await request(url, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.body.json()) as {
    url?: string;
    task?: string;
    headers?: Record<string, string>;
  };
  console.log(`GET ${url} as demo-user -> HTTP ${res.statusCode}`);
  console.log(
    `  the app saw: path ${body.url}, user ${body.headers?.["x-appgw-user"]}, task ${body.task}`,
  );
  const anon = await request(url);
  await anon.body.dump();
  console.log(`GET ${url} without a token -> HTTP ${anon.statusCode}`);
  if (res.statusCode !== 200 || body.task !== task)
    throw new Error(
      `the request through the router did not reach the app (HTTP ${res.statusCode})`,
    );

  step(6, "Running");
  console.log(`The gateway keeps running until Ctrl-C. Meanwhile:
  - open the settings page, ${gw.apiUrl}/ui/ (the administrator: access key ${secrets.admin.accessKey}, secret in .appgw/demo-secrets.json)
  - browse ${gw.router?.url}/_appgw/login (demo-user: access key ${userKeys.accessKey}, secret in .appgw/demo-user.json), then ${routeUrl}/
  - run pulumi yourself: export PATH="${binDir}:$PATH" PULUMI_BACKEND_URL='${project.env.PULUMI_BACKEND_URL}' PULUMI_HOME=${project.env.PULUMI_HOME} PULUMI_CONFIG_PASSPHRASE='${secrets.passphrase}'
    then: pulumi preview --refresh --expect-no-changes
  - clean up: npm run demo -- --destroy`);
  const stop = () => {
    void admin.tasks
      .stop(task)
      .catch(() => undefined)
      .finally(() => gw.close().then(() => process.exit(0)));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/** demo-user's keys: made on the first run and kept in .appgw/demo-user.json. */
async function demoUserKeys(
  admin: ReferenceGatewayClient,
): Promise<{ accessKey: string; secretKey: string }> {
  const file = path.join(WORK, "demo-user.json");
  const existing = await admin.users.findByName("demo-user");
  if (existing && fs.existsSync(file)) {
    return JSON.parse(fs.readFileSync(file, "utf8")) as { accessKey: string; secretKey: string };
  }
  // The gateway keeps only a hash of the secret: with the file gone, start the user afresh.
  if (existing) await admin.users.delete(existing.id);
  const { credentials } = await admin.addUser({ name: "demo-user" });
  const keys = { accessKey: credentials.access_key, secretKey: credentials.secret_key };
  fs.writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}

async function waitForRouting(admin: AppGatewayClient, name: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const route = await admin.routes.findByName(name);
    if (route?.status === "active") return route;
    if (Date.now() > deadline)
      throw new Error(
        `route '${name}' is not routing after 30 s (status ${route?.status ?? "missing"})`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

main().catch((err: unknown) => {
  console.error(`\n\x1b[31mdemo failed: ${(err as Error).message}\x1b[0m`);
  process.exit(1);
});
