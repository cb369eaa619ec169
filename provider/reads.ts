// Reads shared by the concurrent operations of one provider process. Pulumi runs the reads of a
// refresh (and the creates and updates of an `up`) in parallel in one process; asked one by one,
// a refresh of N routes would cost N `get_routes` calls, N group listings and so on. Here the
// reads asked for within a few milliseconds go out as one call: routes and users by id in one
// `get_routes {id: [...]}` / `users.get_all {id: [...]}`, whole listings once.
//
// A read never joins a request that was already sent, so it always sees every write that
// finished before it was asked for (a create followed by its read-back stays exact).
import type { AccessRule, AppGatewayClient, Group, Route, User } from "@appgw/sdk";

/** How long reads wait for others to join them: short beside any call's own latency. */
const WINDOW_MS = 5;
/** At most this many ids in one call, so a request stays small. */
const MAX_IDS = 500;

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

/** Loads items by key: the keys asked for in one window are fetched by one call. */
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

/** A whole listing: the callers of one window share one call. */
function shared<T>(fetch: () => Promise<T>): () => Promise<T> {
  let next: Promise<T> | undefined;
  return () => {
    next ??= new Promise<void>((r) => setTimeout(r, WINDOW_MS)).then(() => {
      next = undefined;
      return fetch();
    });
    return next;
  };
}

export interface Reads {
  /** The route with this id, or undefined when it is gone. */
  route(id: string): Promise<Route | undefined>;
  user(id: string): Promise<User | undefined>;
  groups(): Promise<Group[]>;
  accessRules(): Promise<AccessRule[]>;
}

const byClient = new WeakMap<AppGatewayClient, Reads>();

export function readsFor(client: AppGatewayClient): Reads {
  let reads = byClient.get(client);
  if (!reads) {
    reads = {
      route: batcher((id) => client.routes.list({ id })),
      user: batcher((id) => client.users.list({ id })),
      groups: shared(() => client.groups.list()),
      accessRules: shared(() => client.accessRules.list()),
    };
    byClient.set(client, reads);
  }
  return reads;
}
