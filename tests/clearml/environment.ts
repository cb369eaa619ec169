// The one environment of the ClearML client suite (mocha root hooks): a reference gateway with
// its router and no built-in agent; a recording proxy in front of its API, through which every
// real client talks (so the audit sees exactly their calls); a user who submits work, a service
// account the real `clearml-agent` runs as, and that agent serving one queue.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { apiProxy, type ApiProxy } from "../helpers/api-proxy";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { ensureClients, startAgent, TOOLS, type Agent } from "./python";

export interface ClearmlEnv {
  t: TestGateway;
  proxy: ApiProxy;
  /** The queue the real agent serves, and one no agent serves. */
  agentQueue: string;
  idleQueue: string;
  /** alice, a user (not an admin): her SDK scripts submit the work. */
  alice: { id: string; accessKey: string; secretKey: string };
  agent: Agent;
  /** The environment a ClearML client gets: the API through the proxy, the given credentials. */
  clientEnv(creds: { accessKey: string; secretKey: string }): NodeJS.ProcessEnv;
}

let env: ClearmlEnv | undefined;
let workDir = "";

export function clearmlEnv(): ClearmlEnv {
  if (!env) throw new Error("the ClearML suite's environment did not start (see the hook's error)");
  return env;
}

function clientEnv(apiUrl: string, configFile: string) {
  return (creds: { accessKey: string; secretKey: string }): NodeJS.ProcessEnv => ({
    CLEARML_API_HOST: apiUrl,
    // No web or file server: anything the clients ask of them shows in the audit as a failure.
    CLEARML_WEB_HOST: apiUrl,
    CLEARML_FILES_HOST: apiUrl,
    CLEARML_API_ACCESS_KEY: creds.accessKey,
    CLEARML_API_SECRET_KEY: creds.secretKey,
    CLEARML_CONFIG_FILE: configFile,
    PIP_DISABLE_PIP_VERSION_CHECK: "1",
  });
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(600_000);
    await ensureClients();
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "appgw-clearml-"));
    const t = await startTestGateway({ agent: false });
    const proxy = await apiProxy(t.apiUrl);
    const created = await t.client.addUser({ name: "alice", role: "user" });
    const alice = {
      id: created.id,
      accessKey: created.credentials.access_key,
      secretKey: created.credentials.secret_key ?? "",
    };
    const service = await t.client.auth.createServiceUser({ name: "clearml-agent" });
    const agentQueue = "cml-agent";
    const idleQueue = "cml-idle";
    await t.client.queues.create(agentQueue);
    await t.client.queues.create(idleQueue);

    // The agent's folders live beside the venv, so the environments it builds for tasks (with
    // clearml from the registry) are reused from one run to the next.
    const agentDir = path.join(TOOLS, "agent");
    const configFile = path.join(workDir, "clearml.conf");
    fs.writeFileSync(
      configFile,
      `agent {
  venvs_dir: "${path.join(agentDir, "venvs-builds")}"
  venvs_cache: { path: "${path.join(agentDir, "venvs-cache")}", max_entries: 4, free_space_threshold_gb: 0 }
  vcs_cache: { enabled: false }
  pip_download_cache: { enabled: true, path: "${path.join(agentDir, "pip-download-cache")}" }
}
`,
    );
    const makeEnv = clientEnv(proxy.url, configFile);
    const agent = startAgent(agentQueue, {
      ...makeEnv({
        accessKey: service.credentials.access_key,
        secretKey: service.credentials.secret_key ?? "",
      }),
      CLEARML_WORKER_ID: "appgw-suite:0",
      // The address the SDK writes as `_ADDRESS`: the apps it runs listen on loopback.
      CLEARML_AGENT_HOST_IP: "127.0.0.1",
      CLEARML_AGENT_QUEUE_POLL_FREQ_SEC: "1",
    });
    env = { t, proxy, agentQueue, idleQueue, alice, agent, clientEnv: makeEnv };
  },

  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await env?.agent.stop();
    env?.proxy.close();
    await env?.t.stop();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  },
};
