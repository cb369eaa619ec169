// The data plane bench's command line and the constants its phases share.
import { parseArgs } from "node:util";

export const PHASES = ["load", "cold", "ws", "sse", "routes", "churn", "test"] as const;
export type Phase = (typeof PHASES)[number];

const HELP = `npm run bench -- [options]

  --duration <s>      measured seconds of each load run (default 10)
  --warmup <s>        unmeasured seconds before each load run (default 2)
  --connections <n>   wrk connections (default 50; wrk runs with -t1)
  --quiet-wait <s>    total seconds the bench may wait, before load runs, for other processes to
                      use under 0.25 cores (default 30, at most 10 per run; 0: never wait)
  --rounds <n>        interleaved rounds of the load runs; the best of each is kept (default 2)
  --cold-duration <s> seconds of the uncached-JWT run (default 5)
  --trials <n>        route-change trials (default 20)
  --test-runs <n>     router test runs (default 5)
  --only <list>       comma-separated phases: ${PHASES.join(",")} (default all)
  --loadgen <tool>    wrk (default when installed) or undici
  --quick             short everything (a smoke run: 3 s loads, 5 trials, 2 tests)
  --no-save           print only; write nothing to bench/results/
  --no-nginx          leave nginx out (as if it were not installed)
`;

export const { values: args } = parseArgs({
  options: {
    duration: { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string" },
    rounds: { type: "string" },
    "quiet-wait": { type: "string" },
    "cold-duration": { type: "string" },
    trials: { type: "string" },
    "test-runs": { type: "string" },
    only: { type: "string" },
    loadgen: { type: "string" },
    quick: { type: "boolean", default: false },
    "no-save": { type: "boolean", default: false },
    "no-nginx": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
  allowPositionals: false,
});
if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function intArg(
  v: string | undefined,
  quick: number,
  normal: number,
  min: number,
  max: number,
): number {
  const n = v === undefined ? (args.quick ? quick : normal) : Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`expected an integer from ${min} to ${max}, got '${v}'`);
  }
  return n;
}

export const cfg = {
  durationSec: intArg(args.duration, 3, 10, 1, 60),
  warmupSec: intArg(args.warmup, 1, 2, 0, 30),
  connections: intArg(args.connections, 50, 50, 1, 1000),
  rounds: intArg(args.rounds, 1, 2, 1, 10),
  quietWaitSec: intArg(args["quiet-wait"], 10, 30, 0, 600),
  coldDurationSec: intArg(args["cold-duration"], 2, 5, 1, 60),
  trials: intArg(args.trials, 5, 20, 1, 200),
  testRuns: intArg(args["test-runs"], 2, 5, 1, 20),
  phases: new Set<Phase>(
    (args.only ?? PHASES.join(","))
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => {
        if (!(PHASES as readonly string[]).includes(s)) throw new Error(`unknown phase '${s}'`);
        return s as Phase;
      }),
  ),
};

/** Tokens cycled by the uncached-JWT run: more than the router's 10 000-token verify cache. */
export const COLD_TOKENS = 12_000;
export const POLL_INTERVAL_MS = 2;
export const POLL_LIMIT_MS = 5_000;
/** At most this long before any one run (and --quiet-wait in all). */
export const QUIET_WAIT_PER_RUN_MS = 10_000;
/** Other processes using more than this many cores during a run make its figures unreliable. */
export const NOISY_CORES = 0.25;
export const ADMIN = { accessKey: "BENCHADMINKEY", secretKey: "bench-admin-secret-0123456789" };
