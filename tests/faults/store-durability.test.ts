// The control API's SQLite store under kill -9: writers create routes and tasks through the SDK
// and record each write the API acknowledged; the API process is killed at a random moment of
// the stream and started again on the same data folder. Every acknowledged write must be there,
// and the database must pass SQLite's integrity check. Several rounds on the same folder.
import assert from "node:assert/strict";
import path from "node:path";
import Database from "better-sqlite3";
import { eventually } from "../helpers/async";
import { adminClient, Fleet, load, sleep } from "./helpers";

const ROUNDS = 4;
const WRITERS = 6;
/** The kill comes at a random moment within this long after the stream is flowing. */
const KILL_WITHIN_MS = 1_500;

interface Write {
  kind: "route" | "task";
  id: string;
  name: string;
}

describe("the SQLite store under kill -9", function () {
  this.timeout(300_000);
  const fleet = new Fleet();
  after(() => fleet.cleanup());

  it("keeps every acknowledged write across kill -9 and restart, and stays intact", async () => {
    const api = await fleet.api();
    const acknowledged: Write[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // No retries: a write is acknowledged by its answer, and a lost answer is no acknowledgement.
      const client = adminClient(api.apiUrl, 0);
      let n = 0;
      const write = async (): Promise<Write> => {
        const name = `w${round}-${n++}`;
        if (n % 2 === 0) {
          return {
            kind: "task",
            name,
            id: await client.tasks.create({ name, type: "application" }),
          };
        }
        const id = await client.routes.save({
          name,
          type: "path",
          path: `/${name}`,
          auth_enabled: true,
          load_balancer: { enabled: false },
        });
        return { kind: "route", name, id };
      };
      // Back to back (no pacing): as many writes in flight as the writers can keep.
      const writes = load(WRITERS, write, 0);
      await eventually(async () => writes.samples.some((s) => s.value), 30_000, "writes flowing");
      const delay = Math.round(Math.random() * KILL_WITHIN_MS);
      await sleep(delay);
      await api.process.kill();
      const samples = await writes.stop();
      const done = samples.flatMap((s) => (s.value ? [s.value] : []));
      acknowledged.push(...done);
      console.log(
        `      round ${round}: killed ${delay} ms into the stream; ${done.length} writes acknowledged, ` +
          `${samples.length - done.length} cut`,
      );

      await api.process.start();
      const reader = adminClient(api.apiUrl);
      const [routes, tasks] = await Promise.all([reader.routes.list(), reader.tasks.list()]);
      const stored = new Set([
        ...routes.map((r) => `route ${r.id} ${r.name}`),
        ...tasks.map((t) => `task ${t.id} ${t.name}`),
      ]);
      assert.deepEqual(
        acknowledged.filter((w) => !stored.has(`${w.kind} ${w.id} ${w.name}`)),
        [],
        `round ${round}: no acknowledged write lost`,
      );
      // A reader beside the running gateway, as WAL allows.
      const db = new Database(path.join(api.dataDir, "appgw.sqlite"), { readonly: true });
      try {
        assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
      } finally {
        db.close();
      }
    }
  });
});
