// The gateway the real program manages: the reference gateway in this process, behind a proxy
// that records every control API action the provider calls.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino, { type DestinationStream } from "pino";
import { startGateway } from "@appgw/gateway";
import { AppGatewayClient } from "@appgw/sdk";
import { apiProxy, type ApiProxy } from "../../tests/helpers/api-proxy";
import { tempPath } from "../proc";

export const ADMIN = { accessKey: "BENCHADMINKEY", secretKey: "bench-admin-secret-0123456789" };

/** The gateway's warn and error log lines: counted, the first 10 kept. */
export interface GatewayLog {
  warn: number;
  error: number;
  samples: string[];
}

export interface ProviderBenchGateway {
  /** The proxy's URL: what `appgw:apiHost` points at. */
  apiHost: string;
  proxy: ApiProxy;
  /** Straight to the API (not counted): the bench's own checks. */
  client: AppGatewayClient;
  log: GatewayLog;
  stop(): Promise<void>;
}

/** `router: true` adds the embedded router (it shares this process, and the machine's cores). */
export async function startProviderBenchGateway(router: boolean): Promise<ProviderBenchGateway> {
  const log: GatewayLog = { warn: 0, error: 0, samples: [] };
  const sink: DestinationStream = {
    write(line: string) {
      let level = 50;
      try {
        level = (JSON.parse(line) as { level?: number }).level ?? 0;
      } catch {
        // not JSON: an error
      }
      if (level >= 50) log.error++;
      else if (level >= 40) log.warn++;
      if (log.samples.length < 10) log.samples.push(line.trim().slice(0, 400));
    },
  };
  const dataDir = tempPath(fs.mkdtempSync(path.join(os.tmpdir(), "appgw-bench-provider-gw-")));
  const gw = await startGateway({
    dataDir,
    apiPort: 0,
    admin: ADMIN,
    router: router ? { ROUTER__WEBSERVER__SERVER_PORT: "0" } : false,
    agent: false,
    logger: pino({ level: "warn" }, sink),
  });
  await gw.router?.ready;
  const proxy = await apiProxy(gw.apiUrl);
  return {
    apiHost: proxy.url,
    proxy,
    client: new AppGatewayClient({ apiHost: gw.apiUrl, ...ADMIN }),
    log,
    stop: async () => {
      proxy.close();
      await gw.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
