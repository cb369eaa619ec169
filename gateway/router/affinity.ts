// Session affinity for load-balanced routes: a signed cookie naming the target (as Traefik, Caddy
// and HAProxy do), not a hash. Adding a target moves no session; a session moves only when its
// target is gone. The HMAC stops clients from choosing arbitrary upstreams, and its key derives
// from the API secret key so every replica with the same credentials accepts the same cookies.
import { createHmac, timingSafeEqual } from "node:crypto";
import { serializeCookie } from "../cookies";
import type { RouteEntry, Target } from "./table";

export const AFFINITY_COOKIE_PREFIX = "appgw_aff_";

/** The affinity key: HMAC-SHA256 keyed with the API secret key over the label "appgw-affinity". */
export function deriveAffinityKey(secretKey: string): Buffer {
  return createHmac("sha256", secretKey).update("appgw-affinity").digest();
}

/** `appgw_aff_<first 8 characters of the route id>`, restricted to cookie-name characters. */
export function affinityCookieName(routeId: string): string {
  return AFFINITY_COOKIE_PREFIX + routeId.slice(0, 8).replace(/[^A-Za-z0-9_-]/g, "_");
}

function mac(key: Buffer, routeId: string, targetKey: string): string {
  // The route id is signed too: a cookie minted for one route is worthless on another.
  return createHmac("sha256", key).update(`${routeId}\n${targetKey}`).digest("base64url");
}

/** The cookie value `<target key>.<HMAC-SHA256 base64url>`. */
export function signAffinity(key: Buffer, routeId: string, targetKey: string): string {
  return `${targetKey}.${mac(key, routeId, targetKey)}`;
}

/** The target key a cookie value names, or null when it is malformed or its signature is wrong. */
export function verifyAffinity(key: Buffer, routeId: string, value: string): string | null {
  // Target keys may contain '.', the base64url signature never does.
  const dot = value.lastIndexOf(".");
  if (dot <= 0) return null;
  const targetKey = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1));
  const expected = Buffer.from(mac(key, routeId, targetKey));
  return given.length === expected.length && timingSafeEqual(given, expected) ? targetKey : null;
}

export interface AffinityPick {
  target: Target;
  /** A `Set-Cookie` value when the client's affinity cookie must be (re)written. */
  setCookie: string | null;
}

/**
 * Chooses the target of a request. A valid cookie naming a live target that is up is honoured; a
 * missing, forged or stale cookie, or one naming a target that is down while another is up, gets
 * the next target that is up in round robin and a fresh cookie. When every target is down they
 * are picked as if all were up (the request may find one back). Routes that are not load
 * balanced have one target and set no cookie.
 */
export function pickTarget(
  route: RouteEntry,
  cookieValue: string | undefined,
  key: Buffer,
  /** The route's next round-robin number; asked only when a target must be chosen. */
  nextTurn: () => number,
  secure: boolean,
  /** Whether a target takes connections (see TargetHealth in proxy.ts). */
  isUp: (target: Target) => boolean,
): AffinityPick {
  const targets = route.targets;
  if (!route.loadBalanced) return { target: targets[0]!, setCookie: null };
  let named: Target | undefined;
  if (cookieValue !== undefined) {
    const namedKey = verifyAffinity(key, route.id, cookieValue);
    named = namedKey === null ? undefined : route.targetsByKey.get(namedKey);
    if (named && isUp(named)) return { target: named, setCookie: null };
  }
  const turn = nextTurn();
  let target: Target | undefined;
  for (let i = 0; i < targets.length && target === undefined; i++) {
    const t = targets[(turn + i) % targets.length]!;
    if (isUp(t)) target = t;
  }
  if (target === undefined) {
    if (named) return { target: named, setCookie: null };
    target = targets[turn % targets.length]!;
  }
  const value = signAffinity(key, route.id, target.key);
  return {
    target,
    setCookie: serializeCookie(route.affinityCookie, value, { path: route.cookiePath, secure }),
  };
}
