// Load runs: wrk (preferred) or the undici fallback in bench/client.ts, both as separate
// processes, both bounded in time. Results come back in one shape.
import path from "node:path";
import { runChild } from "./proc";

export interface LoadResult {
  tool: "wrk" | "undici";
  requests: number;
  durationSec: number;
  rps: number;
  /** Milliseconds. p75 is NaN for the undici generator. */
  latencyMs: { avg: number; p50: number; p75: number; p90: number; p99: number; max: number };
  /** Responses outside 2xx/3xx. */
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number; other?: number };
  bytesRead?: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  durationSec: number;
  /** Extra request headers, `Name: value`. */
  headers?: string[];
  /** A wrk Lua script (wrk only). */
  script?: string;
}

export interface LoadGenerator {
  tool: "wrk" | "undici";
  run(opts: LoadOptions): Promise<LoadResult>;
}

/** `2.10ms`, `850.00us`, `1.20s`, `3.00m` → milliseconds. */
export function wrkDuration(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  switch (m[2]) {
    case "us":
      return n / 1000;
    case "ms":
      return n;
    case "s":
      return n * 1000;
    case "m":
      return n * 60_000;
    default:
      return n * 3_600_000;
  }
}

export function parseWrk(out: string): LoadResult {
  const num = (re: RegExp): number => {
    const m = re.exec(out);
    return m ? Number(m[1]) : NaN;
  };
  const dur = (re: RegExp): number => {
    const m = re.exec(out);
    return m ? wrkDuration(m[1]!) : NaN;
  };
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out);
  if (!total) throw new Error(`could not read wrk's output:\n${out}`);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    tool: "wrk",
    requests: Number(total[1]),
    durationSec: wrkDuration(`${total[2]}${total[3]}`) / 1000,
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    latencyMs: {
      avg: dur(/Latency\s+([\d.]+\w+)\s/),
      p50: dur(/^\s+50%\s+([\d.]+\w+)/m),
      p75: dur(/^\s+75%\s+([\d.]+\w+)/m),
      p90: dur(/^\s+90%\s+([\d.]+\w+)/m),
      p99: dur(/^\s+99%\s+([\d.]+\w+)/m),
      max: dur(/Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+\w+)/),
    },
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/) || 0,
    socketErrors: sock
      ? {
          connect: Number(sock[1]),
          read: Number(sock[2]),
          write: Number(sock[3]),
          timeout: Number(sock[4]),
        }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
  };
}

export function wrkGenerator(bin: string): LoadGenerator {
  return {
    tool: "wrk",
    async run(opts) {
      const args = [
        "-t1",
        `-c${opts.connections}`,
        `-d${opts.durationSec}s`,
        "--timeout",
        "5s",
        "--latency",
      ];
      for (const h of opts.headers ?? []) args.push("-H", h);
      if (opts.script) args.push("-s", opts.script);
      args.push(opts.url);
      const r = await runChild("wrk", bin, args, (opts.durationSec + 15) * 1000);
      if (r.timedOut) throw new Error(`wrk did not finish in time:\n${r.stdout}\n${r.stderr}`);
      if (r.code !== 0) throw new Error(`wrk exited with ${r.code}:\n${r.stdout}\n${r.stderr}`);
      return parseWrk(r.stdout);
    },
  };
}

export function undiciGenerator(): LoadGenerator {
  return {
    tool: "undici",
    async run(opts) {
      if (opts.script) throw new Error("the undici generator runs no wrk scripts");
      if ((opts.headers?.length ?? 0) > 1) throw new Error("the undici generator takes one header");
      const args = [
        "--import",
        "tsx",
        path.join(__dirname, "client.ts"),
        "load",
        opts.url,
        String(opts.connections),
        String(opts.durationSec),
        ...(opts.headers ?? []),
      ];
      const r = await runChild(
        "undici-load",
        process.execPath,
        args,
        (opts.durationSec + 20) * 1000,
      );
      const line = /^RESULT (.*)$/m.exec(r.stdout);
      if (!line) throw new Error(`the undici load generator failed (${r.code}):\n${r.stderr}`);
      return { tool: "undici", ...(JSON.parse(line[1]!) as Omit<LoadResult, "tool">) };
    },
  };
}
