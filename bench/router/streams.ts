// Phases 4a and 4b: WebSocket echo round trips and SSE first byte, direct and through the
// router, from a client in its own process (bench/client.ts).
import { ratio, ms, type Summary } from "../stats";
import { runClient } from "./measure";
import { results, say, warn } from "./results";

export async function websocketEcho(upstreamPort: number, routerUrl: string): Promise<void> {
  const w: NonNullable<(typeof results)["websocket"]> = {};
  results.websocket = w;
  try {
    w.direct = await runClient("ws", [`ws://127.0.0.1:${upstreamPort}/ws`, "2000", "200"], 60_000);
    w.router = await runClient(
      "ws",
      [`${routerUrl.replace("http:", "ws:")}/bench-static/ws`, "2000", "200"],
      60_000,
    );
    const d = w.direct as { connectMs: number; rtt: Summary };
    const r = w.router as { connectMs: number; rtt: Summary };
    say(`   direct: rtt p50 ${ms(d.rtt.p50)}, p99 ${ms(d.rtt.p99)}, connect ${ms(d.connectMs)}`);
    say(`   router: rtt p50 ${ms(r.rtt.p50)}, p99 ${ms(r.rtt.p99)}, connect ${ms(r.connectMs)}`);
    say(
      `   router/direct rtt p50 ${ratio(r.rtt.p50, d.rtt.p50)}, p99 ${ratio(r.rtt.p99, d.rtt.p99)}`,
    );
  } catch (err) {
    w.error = (err as Error).message;
    warn(`websocket: ${w.error}`);
  }
}

export async function sseFirstByte(upstreamPort: number, routerUrl: string): Promise<void> {
  const s: NonNullable<(typeof results)["sse"]> = {};
  results.sse = s;
  try {
    s.direct = await runClient(
      "sse",
      [`http://127.0.0.1:${upstreamPort}/sse`, "300", "30"],
      60_000,
    );
    s.router = await runClient("sse", [`${routerUrl}/bench-static/sse`, "300", "30"], 60_000);
    for (const [label, v] of [
      ["direct", s.direct],
      ["router", s.router],
    ] as const) {
      const x = v as { firstByte: Summary; complete: Summary; errors: string[] };
      say(
        `   ${label}: first byte p50 ${ms(x.firstByte.p50)}, p99 ${ms(x.firstByte.p99)}; complete p50 ${ms(x.complete.p50)}${x.errors.length ? `; errors ${x.errors.join(", ")}` : ""}`,
      );
      if (x.errors.length) warn(`sse ${label}: ${x.errors.join(", ")}`);
    }
    const d = s.direct as { firstByte: Summary };
    const r = s.router as { firstByte: Summary };
    say(
      `   router/direct first byte p50 ${ratio(r.firstByte.p50, d.firstByte.p50)}, p99 ${ratio(r.firstByte.p99, d.firstByte.p99)}`,
    );
  } catch (err) {
    s.error = (err as Error).message;
    warn(`sse: ${s.error}`);
  }
}
