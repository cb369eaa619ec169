// Single requests through the router: probes, and polls until a change shows.
import { performance } from "node:perf_hooks";
import { Agent, request } from "undici";
import { sleep } from "../proc";
import { POLL_INTERVAL_MS, POLL_LIMIT_MS } from "./options";

export const pollAgent = new Agent({ connections: 4, keepAliveTimeout: 10_000 });

export async function getStatus(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const res = await request(url, { dispatcher: pollAgent, headers });
  return { status: res.statusCode, body: await res.body.text() };
}

/**
 * Polls `url` every ~2 ms until `want(status)`; returns the milliseconds from `t0` to the first
 * matching answer, or null after 5 s (at most 2 500 polls).
 */
export async function pollUntil(
  url: string,
  want: (status: number) => boolean,
  t0: number,
): Promise<number | null> {
  for (let i = 0; i < POLL_LIMIT_MS / POLL_INTERVAL_MS; i++) {
    try {
      const { status } = await getStatus(url);
      if (want(status)) return performance.now() - t0;
    } catch {
      // a refused or reset connection counts as not yet
    }
    if (performance.now() - t0 > POLL_LIMIT_MS) break;
    await sleep(POLL_INTERVAL_MS);
  }
  return null;
}

/** Waits until `url` answers 200 (a route just set up), failing loudly after 5 s. */
export async function waitRouted(url: string, headers: Record<string, string> = {}): Promise<void> {
  const deadline = Date.now() + 5_000;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const r = await getStatus(url, headers);
      if (r.status === 200) return;
      last = `${r.status} ${r.body.slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(20);
  }
  throw new Error(`${url} never answered 200 (last: ${last})`);
}
