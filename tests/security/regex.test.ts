// `name`, `path` and `subdomain` filters are regular expressions from any signed-in caller, matched
// inside the gateway's synchronous store on the event loop its API, router and agent share. The
// test gateway runs in this process, so this test's own event loop delay is the gateway's.
import assert from "node:assert/strict";
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import type { AppGatewayClient } from "@appgw/sdk";
import {
  bearerAuth,
  rawCall,
  rejection,
  startTestGateway,
  userClient,
  type TestGateway,
} from "../helpers/gateway";

/** Under the bound of 50 ms, with the sampling interval (1 ms) included. */
const MAX_LOOP_DELAY_MS = 50;

describe("security: caller regular expressions cannot stall the gateway", () => {
  let t: TestGateway;
  let mallory: AppGatewayClient;
  /** Task id -> name, of the tasks this file created. */
  const ours = new Map<string, string>();

  before(async () => {
    t = await startTestGateway();
    ({ client: mallory } = await userClient(t, "mallory"));
  });
  after(() => t.stop());

  async function createTasks(names: string[]): Promise<void> {
    for (const name of names) {
      ours.set(await mallory.tasks.create({ name, type: "training" }), name);
    }
  }

  /** The names of our tasks that `tasks.get_all {name: pattern}` returns, sorted. */
  async function matching(pattern: string): Promise<string[]> {
    const tasks = await mallory.tasks.list({ name: pattern, only_fields: ["name"] });
    return tasks
      .filter((task) => ours.has(task.id))
      .map((task) => task.name ?? "")
      .sort();
  }

  /** Runs `fn` while sampling the event loop every millisecond; returns the longest delay. */
  async function loopDelayDuring(fn: () => Promise<void>): Promise<number> {
    const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    try {
      await fn();
    } finally {
      histogram.disable();
    }
    return histogram.max / 1e6;
  }

  it("answers catastrophic patterns in linear time without stalling the event loop", async () => {
    // 27 characters took 2 s with JS RegExp, doubling with each more; 256 is the longest name
    // the API stores.
    const long = "a".repeat(255);
    await createTasks([`${"a".repeat(26)}!`, `${long}!`, long + "a", `${"ab".repeat(128)}`]);
    const answers = new Map<string, string[]>();
    const delay = await loopDelayDuring(async () => {
      for (const pattern of [
        "(a+)+$",
        "(a|a)*b",
        "(.*a){20}",
        "((a*)*)*!",
        "(a|aa)+$",
        "^(a?){25}a{25}$",
        "(x+x+)+y",
      ]) {
        answers.set(pattern, await matching(pattern));
      }
    });
    assert.ok(delay < MAX_LOOP_DELAY_MS, `the event loop stalled for ${delay.toFixed(1)} ms`);
    assert.deepEqual(answers.get("(a+)+$"), [long + "a"]);
    assert.deepEqual(answers.get("(a|a)*b"), ["ab".repeat(128)]);
    assert.deepEqual(answers.get("(.*a){20}"), [...ours.values()].sort());
    assert.deepEqual(answers.get("((a*)*)*!"), [`${"a".repeat(26)}!`, `${long}!`].sort());
    assert.deepEqual(answers.get("(a|aa)+$"), [long + "a"]);
    assert.deepEqual(answers.get("^(a?){25}a{25}$"), []);
    assert.deepEqual(answers.get("(x+x+)+y"), []);
  });

  it("matches as Python's re.search does: anywhere in the name, case-sensitively", async () => {
    await createTasks(["abc", "xabc", "ABC", "a-c", "abcx", "run-x", "a.c", "Abc-x"]);
    // Each expected list is what Python's `re.search(pattern, name)` keeps.
    const expected: Record<string, string[]> = {
      "^abc": ["abc", "abcx"],
      x$: ["abcx", "run-x", "Abc-x"],
      "a.c": ["abc", "xabc", "a-c", "abcx", "a.c"],
      ABC: ["ABC"],
      "^a\\.c$": ["a.c"],
      "c$|^A": ["abc", "xabc", "ABC", "a-c", "a.c", "Abc-x"],
      "b+c": ["abc", "xabc", "abcx", "Abc-x"],
      "^[a-z]+$": ["abc", "xabc", "abcx"],
    };
    for (const [pattern, names] of Object.entries(expected)) {
      const short = (await matching(pattern)).filter((n) => n.length < 10);
      assert.deepEqual(short, [...names].sort(), pattern);
    }
  });

  it("refuses backreferences and lookaround with a 400 naming the field and the reason", async () => {
    const auth = await bearerAuth(mallory);
    for (const [action, field, pattern] of [
      ["tasks.get_all", "name", "(a)\\1"],
      ["tasks.get_all", "name", "a(?=b)"],
      ["queues.get_all", "name", "(?<!x)y"],
      ["users.get_all", "name", "(a)\\1"],
      ["routers.get_routes", "path", "(?!/x)"],
      ["routers.get_routes", "subdomain", "(a)\\1"],
    ] as const) {
      const res = await rawCall(t.apiUrl, action, { [field]: pattern }, auth);
      assert.equal(res.status, 400, `${action} ${field} ${pattern}`);
      assert.equal(res.json.meta.error_data.code, "APPGW_INVALID_REQUEST");
      assert.equal(res.json.meta.error_data.field, field);
      assert.match(res.json.meta.error_data.reason, /backreferences and lookaround/);
    }
  });

  it("refuses a pattern that would compile to a huge program, before compiling it", async () => {
    // 252 characters that RE2 expands to 36,000 instructions: 350 ms to compile.
    const pattern = "a{1000}".repeat(36);
    let err: any;
    const delay = await loopDelayDuring(async () => {
      err = await rejection(() => mallory.tasks.list({ name: pattern }));
    });
    assert.ok(delay < MAX_LOOP_DELAY_MS, `the event loop stalled for ${delay.toFixed(1)} ms`);
    assert.equal(err.code, "APPGW_INVALID_REQUEST");
    assert.equal(err.field, "name");
    assert.match(err.details.reason, /too complex/);
  });

  it("refuses a costly pattern against a value longer than the API writes", async () => {
    // Data the API would refuse today (an older gateway's, a direct write) is still matched.
    const [id, name] = [...ours.entries()][0]!;
    const huge = `${"a".repeat(5000)}!`;
    const rename = (to: string) => {
      t.gw.api.store.db.prepare("UPDATE tasks SET name = ? WHERE id = ?").run(to, id);
      ours.set(id, to);
    };
    rename(huge);
    let err: any;
    let cheap: string[] = [];
    try {
      const delay = await loopDelayDuring(async () => {
        err = await rejection(() => mallory.tasks.list({ name: "(.*a){20}" }));
        cheap = await matching("(a+)+!$");
      });
      assert.ok(delay < MAX_LOOP_DELAY_MS, `the event loop stalled for ${delay.toFixed(1)} ms`);
    } finally {
      rename(name);
    }
    assert.equal(err.field, "name");
    assert.match(err.details.reason, /too complex to match against a value of 5001 characters/);
    assert.deepEqual(cheap, [`${"a".repeat(255)}!`, huge].sort());
  });

  it("stops a query whose matching outlasts its budget with a 400, not a stall", async () => {
    // Each of these names costs this pattern over a millisecond: together far over budget.
    const names = Array.from({ length: 200 }, (_, i) => `${"ab".repeat(124)}-${i}`);
    await createTasks(names);
    let err: any;
    const delay = await loopDelayDuring(async () => {
      err = await rejection(() => mallory.tasks.list({ name: "(?:a|b|ab|ba|aa|bb){15}$" }));
    });
    assert.ok(delay < MAX_LOOP_DELAY_MS, `the event loop stalled for ${delay.toFixed(1)} ms`);
    assert.equal(err.code, "APPGW_INVALID_REQUEST");
    assert.equal(err.field, "name");
    assert.match(err.details.reason, /took more than \d+ ms to match/);
    // Cheap patterns still run over all of them.
    assert.equal((await matching("-1[0-9]{2}$")).length, 100);
  });

  it("runs literal searches and exact lookups as plain SQL, over any number of rows", async () => {
    // Far more rows than a 20 ms matching budget covers (~2-7 µs a row in RE2): literal text,
    // anchored or not, never goes through the engine, so it never meets the budget.
    const store = t.gw.api.store;
    const owner = (await mallory.users.me()).user.id;
    store.db.transaction(() => {
      for (let i = 0; i < 20_000; i++) {
        store.tasks.create({ name: `bulk-run.${i}`, type: "training" }, owner);
      }
    })();
    const count = async (name: string) =>
      (await mallory.tasks.list({ name, only_fields: ["id"] })).length;
    assert.equal(await count("run\\.1999"), 11); // 1999 and 19990..19999
    assert.equal(await count("^bulk-run\\.7$"), 1);
    assert.equal(await count("^bulk-run\\.1999"), 11);
    assert.equal(await count("\\.19999$"), 1);
    assert.equal(await count("BULK-RUN"), 0, "case-sensitive");
  });
});
