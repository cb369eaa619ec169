// Open exchanges (proxied requests, piped WebSockets and their sockets) by route and target, so a
// table swap closes exactly what lost its route, its target or its user's access, and leaves
// everything else running.
import { refusal } from "./auth";
import type { RouteEntry, RouteTable, Target } from "./table";

/** Why the tracker ends an exchange. */
export type CloseReason = "route" | "access";

export interface Closable {
  /** Ends the exchange: its route or target is gone (`route`), or its user lost access. */
  close(reason: CloseReason): void;
}

/** The open exchanges of one target, each with the user it was opened for (null: public). */
type Open = Map<Closable, string | null>;

export class ConnectionTracker {
  private readonly routes = new Map<string, Map<string, Open>>();

  /** Registers an exchange; returns the function that unregisters it. */
  add(route: RouteEntry, target: Target, exchange: Closable, userId: string | null): () => void {
    let targets = this.routes.get(route.id);
    if (targets === undefined) this.routes.set(route.id, (targets = new Map()));
    let open = targets.get(target.uid);
    if (open === undefined) targets.set(target.uid, (open = new Map()));
    open.set(exchange, userId);
    const set = open;
    return () => {
      set.delete(exchange);
      if (set.size === 0 && targets.get(target.uid) === set) {
        targets.delete(target.uid);
        if (targets.size === 0 && this.routes.get(route.id) === targets)
          this.routes.delete(route.id);
      }
    };
  }

  /**
   * Called with the table being replaced and its successor. Every tracked exchange belongs to
   * `prev` (the server re-resolves requests that straddle a swap). A route that is gone or whose
   * definition changed (it was disabled, edited and enabled again) loses all its exchanges; a
   * route that lost a target loses that target's exchanges; an exchange whose user may no longer
   * use the route (deleted, removed from its groups, rule gone) is closed, so revoking access
   * ends open WebSockets and streams as it refuses new requests.
   */
  reconcile(prev: RouteTable, next: RouteTable): void {
    for (const [routeId, targets] of this.routes) {
      const before = prev.byId.get(routeId);
      const after = next.byId.get(routeId);
      const routeGone = !before || !after || before.signature !== after.signature;
      for (const [uid, open] of targets) {
        if (routeGone || !after.targets.some((t) => t.uid === uid)) {
          targets.delete(uid);
          for (const exchange of open.keys()) exchange.close("route");
          continue;
        }
        if (!after.authenticated) continue;
        for (const [exchange, userId] of open) {
          if (userId !== null && refusal(after, userId, next.members) !== null) {
            open.delete(exchange);
            exchange.close("access");
          }
        }
        if (open.size === 0) targets.delete(uid);
      }
      if (targets.size === 0) this.routes.delete(routeId);
    }
  }

  closeAll(): void {
    const all = [...this.routes.values()];
    this.routes.clear();
    for (const targets of all) {
      for (const open of targets.values()) for (const e of open.keys()) e.close("route");
    }
  }
}
