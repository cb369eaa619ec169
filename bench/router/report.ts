// The data plane bench's summary on the console, and its report: bench/results/latest.{json,md}
// and a copy of each named by the start time.
import fs from "node:fs";
import path from "node:path";
import type { LoadResult } from "../load";
import { mdTable, ms, ratio, ratioNum, table, type Summary } from "../stats";
import { socketErrors } from "./measure";
import { cfg, COLD_TOKENS, POLL_LIMIT_MS } from "./options";
import { results, say, type LoopDelay } from "./results";
import { ROUTE_CHANGES } from "./routeChanges";
import { loadCommand } from "./targets";

function loadTable(): string[][] {
  const direct = results.load.find((r) => r.name === "direct")?.result;
  const nginx = results.load.find((r) => r.name === "nginx")?.result;
  const naive = results.load.find((r) => r.name === "node-proxy")?.result;
  const rows = [
    [
      "target",
      "req/s",
      "p50",
      "p99",
      "non-2xx",
      "sock err",
      "vs direct",
      "vs nginx",
      "vs node-proxy",
      "p99 vs nginx",
      "loop delay max",
      "rounds req/s",
      "others (cores)",
    ],
  ];
  const order = [
    "direct",
    "nginx",
    "node-proxy",
    "router-public",
    "router-auth",
    "router-auth-cold",
  ];
  const sorted = [...results.load].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  for (const row of sorted) {
    const r = row.result;
    if (!r) {
      rows.push([row.name, row.skipped ? "SKIPPED" : "FAILED", ...Array<string>(11).fill("")]);
      continue;
    }
    const errs = socketErrors(r);
    rows.push([
      row.name,
      r.rps.toFixed(0),
      ms(r.latencyMs.p50),
      ms(r.latencyMs.p99),
      String(r.non2xx),
      String(errs),
      ratio(r.rps, direct?.rps),
      ratio(r.rps, nginx?.rps),
      ratio(r.rps, naive?.rps),
      ratio(r.latencyMs.p99, nginx?.latencyMs.p99),
      row.loopDelay ? ms(row.loopDelay.max) : "",
      (row.rounds ?? []).map((x) => x.result.rps.toFixed(0)).join("/"),
      (row.rounds ?? [])
        .map((x) => (x.otherCores === null ? "?" : x.otherCores.toFixed(2)))
        .join("/"),
    ]);
  }
  return rows;
}

/** Fills `results.ratios`; returns them as `name 0.47x` for people. */
function computeRatios(): string[] {
  const get = (n: string) => results.load.find((r) => r.name === n)?.result;
  const direct = get("direct");
  const nginx = get("nginx");
  const naive = get("node-proxy");
  const pub = get("router-public");
  const auth = get("router-auth");
  const cold = get("router-auth-cold");
  const lines: string[] = [];
  const add = (key: string, a: number | undefined, b: number | undefined) => {
    results.ratios[key] = ratioNum(a, b);
    lines.push(`${key} ${ratio(a, b)}`);
  };
  add("router/nginx", pub?.rps, nginx?.rps);
  add("router/direct", pub?.rps, direct?.rps);
  add("router/node-proxy", pub?.rps, naive?.rps);
  add("node-proxy/nginx", naive?.rps, nginx?.rps);
  add("nginx/direct", nginx?.rps, direct?.rps);
  add("router-auth/router", auth?.rps, pub?.rps);
  add("router-auth/nginx", auth?.rps, nginx?.rps);
  if (cold) add("router-auth-cold/router", cold.rps, pub?.rps);
  add("router p99/nginx p99", pub?.latencyMs.p99, nginx?.latencyMs.p99);
  return lines;
}

function markdown(ratioLines: string[]): string {
  const out: string[] = [];
  out.push(`# Data plane bench, ${results.started}`, "");
  out.push(
    `${results.host.cpus} cores (${results.host.cpuModel}), Node ${results.host.node}, ${results.host.platform}, ` +
      `load average at start ${results.host.loadavgAtStart.join(" ")}. ` +
      `Load: ${loadCommand()} after a ${cfg.warmupSec}s warm-up per target, best of ${cfg.rounds} interleaved round(s), ~100-byte GET, all on 127.0.0.1. ` +
      "Compare ratios, not absolute figures: they drift between runs.",
    "",
  );
  out.push(
    "Tools: " +
      Object.entries(results.tools)
        .map(([k, v]) => `${k}: ${v}`)
        .join("; "),
    "",
  );
  out.push("## Throughput and latency", "", mdTable(loadTable()), "");
  out.push("Ratios: " + ratioLines.join(", "), "");
  out.push(
    "`node-proxy`: a naive reverse proxy over one undici Pool (`stream()`, hop-by-hop headers dropped, nothing else) in its own process, the floor for a Node proxy; " +
      "`router-public`: a static path route without authentication; `router-auth`: an authenticated route with one Bearer token " +
      "(verified once, then from the router's verify cache); `router-auth-cold`: every request a different token " +
      `(${COLD_TOKENS} cycled, more than the cache holds), so each is verified (ES256).`,
    "",
  );
  if (results.routeChange) {
    const rc = results.routeChange;
    out.push(
      "## Route changes",
      "",
      `From the API call returning to the router answering as changed (polled every ~${rc.pollIntervalMs} ms), ${rc.trials} trials.`,
      "",
    );
    out.push(
      mdTable([
        ["change", "median", "p90", "max", "n"],
        ...ROUTE_CHANGES.map(([l, key]) => {
          const s = rc[key];
          return [l, ms(s.p50), ms(s.p90), ms(s.max), String(s.n)];
        }),
      ]),
      "",
    );
    if (rc.timeouts)
      out.push(`**${rc.timeouts} changes not seen within ${POLL_LIMIT_MS} ms.**`, "");
  }
  if (results.churn) {
    const c = results.churn;
    out.push("## Unrelated route changes under load", "");
    out.push(
      `/bench-static under the same load (${cfg.connections} connections) just before (without changes) and ` +
        `while another route was created and deleted every ~20 ms (${c.changes} changes).`,
      "",
    );
    const row = (label: string, r?: LoadResult, d?: LoopDelay, o?: number | null) =>
      r
        ? [
            label,
            r.rps.toFixed(0),
            ms(r.latencyMs.p50),
            ms(r.latencyMs.p99),
            String(r.non2xx),
            String(socketErrors(r)),
            d ? ms(d.max) : "",
            o === null || o === undefined ? "?" : o.toFixed(2),
          ]
        : [label, "n/a", "", "", "", "", "", ""];
    out.push(
      mdTable([
        ["run", "req/s", "p50", "p99", "non-2xx", "sock err", "loop delay max", "others (cores)"],
        row("without changes", c.quiet?.result, c.quiet?.loopDelay, c.quiet?.otherCores),
        row("with changes", c.load, c.loopDelay, c.otherCores),
      ]),
      "",
      `with/without: ${ratio(c.load?.rps, c.quietRps)} req/s, p99 ${ratio(c.load?.latencyMs.p99, c.quiet?.result.latencyMs.p99)}`,
    );
    if (c.websocket)
      out.push(
        "",
        `WebSocket on the stable route during the changes: \`${JSON.stringify(c.websocket)}\``,
      );
    if (c.error) out.push("", `Error: ${c.error}`);
    out.push("");
  }
  const wsRow = (label: string, v: unknown) => {
    const x = v as { connectMs: number; rtt: Summary } | undefined;
    return x
      ? [label, ms(x.connectMs), ms(x.rtt.p50), ms(x.rtt.p99), String(x.rtt.n)]
      : [label, "n/a", "", "", ""];
  };
  if (results.websocket) {
    const w = results.websocket as {
      direct?: { rtt: Summary };
      router?: { rtt: Summary };
      error?: string;
    };
    out.push("## WebSocket echo (sequential round trips, 32 bytes)", "");
    out.push(
      mdTable([
        ["path", "connect", "rtt p50", "rtt p99", "n"],
        wsRow("direct", w.direct),
        wsRow("router", w.router),
      ]),
    );
    out.push(
      "",
      `router/direct p50 ${ratio(w.router?.rtt.p50, w.direct?.rtt.p50)}, p99 ${ratio(w.router?.rtt.p99, w.direct?.rtt.p99)}`,
      "",
    );
    if (w.error) out.push(`Error: ${w.error}`, "");
  }
  if (results.sse) {
    const s = results.sse as {
      direct?: { firstByte: Summary; complete: Summary };
      router?: { firstByte: Summary; complete: Summary };
      error?: string;
    };
    const row = (l: string, v?: { firstByte: Summary; complete: Summary }) =>
      v
        ? [l, ms(v.firstByte.p50), ms(v.firstByte.p99), ms(v.complete.p50), String(v.firstByte.n)]
        : [l, "n/a", "", "", ""];
    out.push("## SSE (sequential streams of 5 events)", "");
    out.push(
      mdTable([
        ["path", "first byte p50", "first byte p99", "complete p50", "n"],
        row("direct", s.direct),
        row("router", s.router),
      ]),
    );
    out.push(
      "",
      `router/direct first byte p50 ${ratio(s.router?.firstByte.p50, s.direct?.firstByte.p50)}`,
      "",
    );
    if (s.error) out.push(`Error: ${s.error}`, "");
  }
  if (results.routerTest) {
    const t = results.routerTest;
    out.push("## Router test (the provider's runner, documented calls only, embedded agent)", "");
    out.push(
      `${t.passed}/${t.runs.length} passed; wall time median ${ms(t.wallMs.p50)}, min ${ms(t.wallMs.min)}, max ${ms(t.wallMs.max)}.`,
      "",
    );
    out.push(
      mdTable([
        ["run", "status", "wall", "run_time_sec"],
        ...t.runs.map((r, i) => [
          String(i + 1),
          r.status + (r.reason && r.status !== "passed" ? ` (${r.reason})` : ""),
          ms(r.wallMs),
          String(r.runTimeSec),
        ]),
      ]),
      "",
    );
  }
  out.push(
    "## Gateway log",
    "",
    `${results.routerLog.warn} warnings, ${results.routerLog.error} errors.`,
    "",
  );
  if (results.routerLog.samples.length)
    out.push("```", ...results.routerLog.samples.slice(0, 10), "```", "");
  if (results.skipped.length)
    out.push("## Skipped", "", ...results.skipped.map((s) => `- ${s}`), "");
  if (results.warnings.length)
    out.push("## Warnings", "", ...results.warnings.map((s) => `- ${s}`), "");
  return out.join("\n");
}

function save(md: string): string[] {
  const dir = path.join(__dirname, "..", "results");
  fs.mkdirSync(dir, { recursive: true });
  const stamp = results.started.replace(/:/g, "-").replace(/\.\d+Z$/, "Z");
  const json = JSON.stringify(results, null, 2) + "\n";
  const files = [
    [path.join(dir, "latest.json"), json],
    [path.join(dir, "latest.md"), md + "\n"],
    [path.join(dir, `${stamp}.json`), json],
    [path.join(dir, `${stamp}.md`), md + "\n"],
  ] as const;
  for (const [f, text] of files) fs.writeFileSync(f, text);
  return files.map(([f]) => path.relative(process.cwd(), f));
}

/** The summary on the console, then the report (unless `saveFiles` is false). */
export function report(saveFiles: boolean): void {
  const ratioLines = computeRatios();
  say("");
  say("== summary (same run; ratios are what to compare across runs)");
  if (results.load.length) {
    say(table(loadTable()));
    say("");
    say(`ratios: ${ratioLines.join(", ")}`);
  }
  say(`gateway log: ${results.routerLog.warn} warnings, ${results.routerLog.error} errors`);
  for (const s of results.routerLog.samples.slice(0, 5)) say(`   ${s}`);
  for (const s of results.skipped) say(`!! SKIPPED ${s}`);
  say(`${results.warnings.length} warnings`);
  const md = markdown(ratioLines);
  if (saveFiles) say(`wrote ${save(md).join(", ")}`);
}
