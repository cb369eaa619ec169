// Phase 2b: a stable route under load while an unrelated route is created and deleted every
// ~20 ms, beside the same load just before without changes; and a WebSocket held open meanwhile.
import type { AppGatewayClient } from "@appgw/sdk";
import { otherCores } from "../cpu";
import type { LoadGenerator } from "../load";
import { sleep } from "../proc";
import { ratio } from "../stats";
import { ownCpu, roundLine, runClient, socketErrors, waitQuiet, withLoopDelay } from "./measure";
import { cfg, NOISY_CORES } from "./options";
import { results, say, warn, type LoadRound, type Results } from "./results";

export async function churnUnderLoad(
  gen: LoadGenerator,
  client: AppGatewayClient,
  routerUrl: string,
): Promise<void> {
  const churn: NonNullable<Results["churn"]> = { changes: 0 };
  results.churn = churn;
  const durationSec = Math.min(cfg.durationSec, 6);
  // The reference: the same load just before, without changes (the machine's noise drifts).
  try {
    await waitQuiet();
    const before = ownCpu();
    const { value, delay } = await withLoopDelay(() =>
      gen.run({ url: `${routerUrl}/bench-static/`, connections: cfg.connections, durationSec }),
    );
    churn.quiet = {
      result: value,
      loopDelay: delay,
      otherCores: otherCores(before, ownCpu()),
    };
    churn.quietRps = value.rps;
    say(`   ${roundLine("without changes", churn.quiet)}`);
  } catch (err) {
    churn.error = `quiet reference: ${(err as Error).message}`;
  }
  const wsUrl = `${routerUrl.replace("http:", "ws:")}/bench-static/ws`;
  await waitQuiet();
  const hold = runClient(
    "ws-hold",
    [wsUrl, String(durationSec * 1000), "20"],
    durationSec * 1000 + 15_000,
  );
  const loadRun = gen.run({
    url: `${routerUrl}/bench-static/`,
    connections: cfg.connections,
    durationSec,
  });
  let stopChurn = false;
  const churnLoop = (async () => {
    const end = Date.now() + durationSec * 1000;
    for (let i = 0; i < 1_000 && !stopChurn && Date.now() < end; i++) {
      // An unrelated route (its own task, the same upstream) appears and goes away.
      const id = await client.routes.save({
        name: "bench-rc",
        type: "path",
        path: `/bench-churn-${i}`,
        auth_enabled: false,
      });
      churn.changes++;
      await sleep(20);
      await client.routes.delete([id], true);
      churn.changes++;
      await sleep(20);
    }
  })();
  try {
    const before = ownCpu();
    const { value, delay } = await withLoopDelay(() => loadRun);
    churn.otherCores = otherCores(before, ownCpu());
    churn.load = value;
    churn.loopDelay = delay;
  } catch (err) {
    churn.error = (err as Error).message;
  } finally {
    stopChurn = true;
    await churnLoop;
  }
  try {
    churn.websocket = await hold;
  } catch (err) {
    churn.error = `${churn.error ?? ""} websocket: ${(err as Error).message}`;
  }
  const ws = churn.websocket as
    { survived?: boolean; sent?: number; received?: number; failures?: number } | undefined;
  if (churn.load) {
    const r = churn.load;
    const errs = socketErrors(r);
    const run: LoadRound = {
      result: r,
      loopDelay: churn.loopDelay,
      otherCores: churn.otherCores ?? null,
    };
    say(`   ${roundLine(`with ${churn.changes} route changes`, run)}`);
    say(
      `   with changes / without: ${ratio(r.rps, churn.quietRps)} req/s, p99 ${ratio(r.latencyMs.p99, churn.quiet?.result.latencyMs.p99)}`,
    );
    if (r.non2xx > 0 || errs > 0) {
      warn(
        `unrelated route changes caused ${r.non2xx} non-2xx and ${errs} socket errors on a stable route`,
      );
    }
    if ((churn.otherCores ?? 0) > NOISY_CORES || (churn.quiet?.otherCores ?? 0) > NOISY_CORES) {
      warn(
        `churn: other processes used ${churn.quiet?.otherCores?.toFixed(2)}/${churn.otherCores?.toFixed(2)} cores ` +
          "(without/with changes): the ratio is unreliable",
      );
    }
  }
  if (ws) {
    say(
      `   WebSocket on /bench-static during the changes: ${ws.survived ? "survived" : "DID NOT SURVIVE"}, ${ws.received}/${ws.sent} echoes`,
    );
    if (!ws.survived || (ws.failures ?? 0) > 0)
      warn(
        `a WebSocket on an unaffected route was disturbed by route changes: ${JSON.stringify(ws)}`,
      );
  }
  if (churn.error) warn(`churn: ${churn.error}`);
}
