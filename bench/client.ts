// Measuring clients, run as their own process so they never share an event loop with the router
// they measure. Each mode prints one `RESULT <json>` line. Every loop is bounded in count and time.
//
//   node --import tsx bench/client.ts ws <url> <n> <warmup>
//   node --import tsx bench/client.ts ws-hold <url> <durationMs> <intervalMs>
//   node --import tsx bench/client.ts sse <url> <n> <warmup>
//   node --import tsx bench/client.ts load <url> <connections> <durationSec> [header: value]
import { performance } from "node:perf_hooks";
import { Pool, request } from "undici";
import WebSocket from "ws";
import { summarize } from "./stats";

/** No mode runs longer than this, whatever its arguments. */
const HARD_LIMIT_MS = 120_000;

function result(value: unknown): void {
  process.stdout.write(`RESULT ${JSON.stringify(value)}\n`);
}

function openWs(url: string, timeoutMs: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`WebSocket ${url} did not open within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once("open", () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`WebSocket ${url} answered HTTP ${res.statusCode}`));
    });
    ws.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function echo(ws: WebSocket, payload: Buffer, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.off("message", onMessage);
      reject(new Error(`no echo within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (): void => {
      clearTimeout(timer);
      resolve();
    };
    ws.once("message", onMessage);
    ws.send(payload);
  });
}

/** Sequential round trips of a 32-byte message on one connection. */
async function wsEcho(url: string, n: number, warmup: number): Promise<void> {
  const connectStart = performance.now();
  const ws = await openWs(url, 5_000);
  const connectMs = performance.now() - connectStart;
  const payload = Buffer.alloc(32, "p");
  const deadline = Date.now() + HARD_LIMIT_MS / 2;
  for (let i = 0; i < warmup && Date.now() < deadline; i++) await echo(ws, payload, 5_000);
  const samples: number[] = [];
  for (let i = 0; i < n && Date.now() < deadline; i++) {
    const t = performance.now();
    await echo(ws, payload, 5_000);
    samples.push(performance.now() - t);
  }
  ws.close();
  result({ connectMs, rtt: summarize(samples) });
}

/** Keeps one WebSocket open and pings it every `intervalMs`: did it survive? */
async function wsHold(url: string, durationMs: number, intervalMs: number): Promise<void> {
  const ws = await openWs(url, 5_000);
  let closed: { code: number; reason: string } | null = null;
  ws.on("close", (code, reason) => (closed ??= { code, reason: reason.toString() }));
  ws.on("error", () => {});
  let sent = 0;
  let received = 0;
  let failures = 0;
  const payload = Buffer.alloc(16, "h");
  const end = Date.now() + Math.min(durationMs, HARD_LIMIT_MS / 2);
  while (Date.now() < end && closed === null) {
    sent++;
    try {
      await echo(ws, payload, 2_000);
      received++;
    } catch {
      failures++;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const survived = closed === null && ws.readyState === WebSocket.OPEN;
  ws.close();
  result({ sent, received, failures, survived, closed });
}

/** Time to the first event, and to the end of the stream, of sequential SSE requests. */
async function sse(url: string, n: number, warmup: number): Promise<void> {
  const pool = new Pool(new URL(url).origin, { connections: 1 });
  const firstByte: number[] = [];
  const complete: number[] = [];
  const errors: string[] = [];
  const deadline = Date.now() + HARD_LIMIT_MS / 2;
  for (let i = 0; i < warmup + n && Date.now() < deadline; i++) {
    const t = performance.now();
    try {
      const res = await request(url, {
        dispatcher: pool,
        headers: { accept: "text/event-stream" },
      });
      if (res.statusCode !== 200) {
        errors.push(`HTTP ${res.statusCode}`);
        await res.body.dump();
        continue;
      }
      let first = NaN;
      let text = "";
      for await (const chunk of res.body) {
        if (Number.isNaN(first)) first = performance.now() - t;
        text += (chunk as Buffer).toString();
      }
      const done = performance.now() - t;
      if (!text.includes("data: first")) errors.push("stream without the first event");
      if (i >= warmup) {
        firstByte.push(first);
        complete.push(done);
      }
    } catch (err) {
      errors.push((err as Error).message);
    }
    if (errors.length > 20) break;
  }
  await pool.close();
  result({
    firstByte: summarize(firstByte),
    complete: summarize(complete),
    errors: errors.slice(0, 5),
  });
}

/**
 * A closed-loop load generator over undici: `connections` loops, each sending its next request
 * when the previous one finished. Used only when wrk is missing.
 */
async function load(
  url: string,
  connections: number,
  durationSec: number,
  header?: string,
): Promise<void> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections, pipelining: 1 });
  const headers: Record<string, string> = {};
  if (header) {
    const i = header.indexOf(":");
    headers[header.slice(0, i).trim().toLowerCase()] = header.slice(i + 1).trim();
  }
  const latencies: number[] = [];
  let requests = 0;
  let non2xx = 0;
  let errors = 0;
  let bytes = 0;
  const durationMs = Math.min(durationSec * 1000, HARD_LIMIT_MS / 2);
  const started = performance.now();
  const end = started + durationMs;
  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        const res = await request(u, { dispatcher: pool, headers });
        const body = await res.body.arrayBuffer();
        bytes += body.byteLength;
        if (res.statusCode < 200 || res.statusCode >= 400) non2xx++;
      } catch {
        errors++;
      }
      requests++;
      if (latencies.length < 2_000_000) latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  const s = summarize(latencies);
  result({
    requests,
    durationSec: elapsed,
    rps: requests / elapsed,
    latencyMs: { avg: s.mean, p50: s.p50, p75: NaN, p90: s.p90, p99: s.p99, max: s.max },
    non2xx,
    socketErrors: { connect: 0, read: 0, write: 0, timeout: 0, other: errors },
    bytesRead: bytes,
  });
}

async function main(): Promise<void> {
  const [mode, url, a, b, c] = process.argv.slice(2);
  if (!mode || !url) throw new Error("usage: client.ts <ws|ws-hold|sse|load> <url> ...");
  const hard = setTimeout(() => {
    process.stderr.write(`client ${mode} hit its hard limit of ${HARD_LIMIT_MS} ms\n`);
    process.exit(2);
  }, HARD_LIMIT_MS);
  hard.unref();
  switch (mode) {
    case "ws":
      return wsEcho(url, Number(a ?? 2000), Number(b ?? 200));
    case "ws-hold":
      return wsHold(url, Number(a ?? 5000), Number(b ?? 20));
    case "sse":
      return sse(url, Number(a ?? 300), Number(b ?? 30));
    case "load":
      return load(url, Number(a ?? 50), Number(b ?? 10), c);
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
