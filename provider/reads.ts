// Reads shared by the operations of one provider process. Pulumi runs one CLI command's steps
// (the reads of a refresh, the creates of an `up`) in one process, at most `--parallel` at a
// time (4 per core by default); asked one by one, a refresh of N routes would cost N
// `get_routes` calls, N group listings and so on.
//
// So listings are shared: the first read of a route fetches every route in one `get_routes`
// call, and later reads are answered from that snapshot while it is fresh (SNAPSHOT_MS); groups,
// access rules and users likewise. A snapshot is as true as one call made when it was taken,
// which is what a refresh reports. This process's own writes are never hidden by it: a route it
// wrote is read again from the server (by id, batched with the reads asked for in the same few
// milliseconds), and a write of groups, access rules or users drops those listings.
import type { AccessRule, ActionName, AppGatewayClient, Group, Route, User } from "@appgw/sdk";

/** How long reads wait for others to join them: short beside any call's own latency. */
const WINDOW_MS = 5;
/** At most this many ids in one call, so a request stays small. */
const MAX_IDS = 500;
/** How long a listing answers reads: a refresh of hundreds of routes fits in it. */
const SNAPSHOT_MS = 10_000;
/** A listing that lacks what a read looks for is taken again if it is older than this. */
const RETAKE_MS = 250;

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

/** Loads items by id: the ids asked for in one window are fetched by one call. */
function batcher<T extends { id: string }>(
  fetch: (ids: string[]) => Promise<T[]>,
): (id: string) => Promise<T | undefined> {
  let pending = new Map<string, Waiter<T | undefined>[]>();
  let timer: NodeJS.Timeout | undefined;

  const flush = async () => {
    const batch = pending;
    pending = new Map();
    timer = undefined;
    const ids = [...batch.keys()];
    for (let i = 0; i < ids.length; i += MAX_IDS) {
      const chunk = ids.slice(i, i + MAX_IDS);
      try {
        const found = new Map((await fetch(chunk)).map((item) => [item.id, item]));
        for (const id of chunk) for (const w of batch.get(id) ?? []) w.resolve(found.get(id));
      } catch (err) {
        for (const id of chunk) for (const w of batch.get(id) ?? []) w.reject(err);
      }
    }
  };

  return (id) =>
    new Promise((resolve, reject) => {
      pending.set(id, [...(pending.get(id) ?? []), { resolve, reject }]);
      timer ??= setTimeout(() => void flush(), WINDOW_MS);
    });
}

/** What one call returned, shared while fresh; `drop` forgets it. */
class Snapshot<T> {
  private taken: { at: number; value: Promise<T> } | undefined;

  constructor(private readonly fetch: () => Promise<T>) {}

  /** The value, taken again when older than `maxAgeMs`. */
  get(maxAgeMs = SNAPSHOT_MS): Promise<T> {
    if (!this.taken || Date.now() - this.taken.at > maxAgeMs) {
      const taken = { at: Date.now(), value: this.fetch() };
      this.taken = taken;
      // A failed call is not kept: the next read asks again.
      taken.value.catch(() => {
        if (this.taken === taken) this.taken = undefined;
      });
    }
    return this.taken.value;
  }

  drop(): void {
    this.taken = undefined;
  }
}

export interface Reads {
  /**
   * The route with this id, or undefined when it is gone: from the shared listing while it is
   * fresh, which is what a refresh reports. Never what an update or a delete decides from.
   */
  route(id: string): Promise<Route | undefined>;
  /**
   * The route as the server holds it now (never the snapshot): what an update or a delete
   * decides from (`force` for an active route, the allowDisruptiveEdits guard), and reads back.
   */
  freshRoute(id: string): Promise<Route | undefined>;
  user(id: string): Promise<User | undefined>;
  /** Every group; taken again (at most every RETAKE_MS) when it lacks one of `ids`, made since. */
  groups(ids?: string[]): Promise<Group[]>;
  accessRules(): Promise<AccessRule[]>;
  /** What the client calls after each write (ClientOptions.afterWrite). */
  wrote(action: ActionName, body: unknown, answer?: unknown): void;
}

function createReads(client: () => AppGatewayClient): Reads {
  const byId = <T extends { id: string }>(items: T[]) => new Map(items.map((i) => [i.id, i]));
  const routes = new Snapshot(async () => byId(await client().routes.list()));
  const groups = new Snapshot(() => client().groups.list());
  const rules = new Snapshot(() => client().accessRules.list());
  const routeById = batcher((id) => client().routes.list({ id }));
  // Users are looked up by id (a company may have thousands); each answer is kept like a snapshot.
  const userById = batcher((id) => client().users.list({ id }));
  const users = new Map<string, Snapshot<User | undefined>>();
  /** Routes this process wrote: the snapshot may predate the write. */
  const written = new Set<string>();

  return {
    async route(id) {
      const found = written.has(id) ? undefined : (await routes.get()).get(id);
      // Created after the snapshot, written by us, or gone: the server decides.
      return found ?? routeById(id);
    },
    freshRoute: (id) => routeById(id),
    user(id) {
      let user = users.get(id);
      if (!user) users.set(id, (user = new Snapshot(() => userById(id))));
      return user.get();
    },
    async groups(ids = []) {
      const known = (list: Group[]) => ids.every((id) => list.some((g) => g.id === id));
      const list = await groups.get();
      return known(list) ? list : groups.get(RETAKE_MS);
    },
    accessRules: () => rules.get(),
    wrote(action, body, answer) {
      const [service] = action.split(".");
      if (service === "routers") {
        // `id` of an update or of a create's answer, `ids` of a deletion.
        const { id, ids = [] } = { ...(answer as object), ...(body as object) } as {
          id?: string;
          ids?: string[];
        };
        for (const routeId of id ? [id, ...ids] : ids) written.add(routeId);
      } else if (service === "permissions") {
        // Deleting a group also changes the routes that named it.
        groups.drop();
        rules.drop();
        routes.drop();
      } else if (service === "users" || service === "auth") {
        users.clear();
      }
    },
  };
}

const byClient = new WeakMap<AppGatewayClient, Reads>();

/** The reads of this client; clientFor (common.ts) tells them about its writes. */
export function readsFor(client: AppGatewayClient): Reads {
  let reads = byClient.get(client);
  if (!reads) byClient.set(client, (reads = createReads(() => client)));
  return reads;
}
