// Token verification and the access decision of a route. Tokens are JWTs the control plane signs
// and publishes as a JWKS; the router verifies them locally with explicit algorithms, issuer,
// audience and expiry (no `none`, small clock skew), and reads groups from the claims.
import type { IncomingHttpHeaders } from "node:http";
import {
  createRemoteJWKSet,
  decodeJwt,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from "jose";
import { TOKENS } from "../../sdk/contract";
import { getCookie } from "./cookies";

export interface Identity {
  /** `sub`: the user id. */
  id: string;
  name: string;
  admin: boolean;
  /** Group ids: every user has "users", admins also "admins". */
  groups: readonly string[];
}

export type VerifyFailure = "invalid" | "expired" | "unavailable";
export type VerifyResult = { ok: true; identity: Identity } | { ok: false; reason: VerifyFailure };

export interface VerifierOptions {
  /** Verified tokens remembered at most this many at once. Default 10 000. */
  cacheSize?: number;
  /** How long a verified token is remembered (never past its `exp`). Default 60 s. */
  cacheTtlMs?: number;
}

/** jose codes meaning the key set could not be fetched, as opposed to a bad token. */
const UNAVAILABLE = new Set(["ERR_JWKS_TIMEOUT", "ERR_JOSE_GENERIC"]);

/** Verifies tokens and remembers good ones briefly (bounded LRU keyed by the token). */
export class TokenVerifier {
  private readonly cache = new Map<string, { result: VerifyResult; until: number }>();
  private readonly cacheSize: number;
  private readonly cacheTtlMs: number;

  constructor(
    private readonly keys: JWTVerifyGetKey,
    opts: VerifierOptions = {},
  ) {
    this.cacheSize = opts.cacheSize ?? 10_000;
    this.cacheTtlMs = opts.cacheTtlMs ?? 60_000;
  }

  async verify(token: string): Promise<VerifyResult> {
    const now = Date.now();
    const hit = this.cache.get(token);
    if (hit !== undefined) {
      this.cache.delete(token);
      if (hit.until > now) {
        this.cache.set(token, hit); // most recently used goes last
        return hit.result;
      }
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        algorithms: [TOKENS.algorithm],
        issuer: TOKENS.issuer,
        audience: TOKENS.audience,
        clockTolerance: 30,
        requiredClaims: ["exp", "sub"],
      }));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === "ERR_JWT_EXPIRED") return { ok: false, reason: "expired" };
      // Anything that is not a jose error is a fetch failure of the key set.
      const unavailable =
        typeof code !== "string" || !code.startsWith("ERR_J") || UNAVAILABLE.has(code);
      return { ok: false, reason: unavailable ? "unavailable" : "invalid" };
    }
    const identity = identityOf(payload);
    if (identity === null) return { ok: false, reason: "invalid" };
    const result: VerifyResult = { ok: true, identity };
    this.cache.set(token, { result, until: Math.min(payload.exp! * 1000, now + this.cacheTtlMs) });
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return result;
  }
}

function identityOf(payload: JWTPayload): Identity | null {
  const { sub, name, admin, groups } = payload as Record<string, unknown>;
  if (typeof sub !== "string" || sub === "") return null;
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === "string")) return null;
  return { id: sub, name: typeof name === "string" ? name : sub, admin: admin === true, groups };
}

export interface RemoteKeys {
  keys: JWTVerifyGetKey;
  /** Re-reads the key set; keeps the previous keys when that fails. */
  refresh(): Promise<void>;
}

/**
 * The control plane's key set at `<apiHost>/.well-known/jwks.json`. jose re-fetches it when a
 * token names an unknown key (rotation). The cache never expires on its own because an expired
 * cache whose refresh fails rejects every token; the caller refreshes it periodically instead,
 * so a control-plane restart does not log everybody out.
 */
export function remoteKeys(apiHost: string): RemoteKeys {
  const jwks = createRemoteJWKSet(new URL(`${apiHost}${TOKENS.jwksPath}`), {
    cacheMaxAge: Infinity,
    timeoutDuration: 5000,
  });
  return { keys: jwks, refresh: () => jwks.reload() };
}

/** `Authorization: Bearer <token>`, any case of the scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header.length < 8 || header.slice(0, 7).toLowerCase() !== "bearer ") {
    return undefined;
  }
  const token = header.slice(7).trim();
  return token === "" ? undefined : token;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** True when the token claims to come from the gateway, valid or not: it must not leak. */
function isGatewayToken(token: string): boolean {
  try {
    return decodeJwt(token).iss === TOKENS.issuer;
  } catch {
    return false;
  }
}

export type AuthFailureCode =
  "APPGW_UNAUTHORIZED" | "APPGW_TOKEN_EXPIRED" | "APPGW_FORBIDDEN" | "APPGW_AUTH_UNAVAILABLE";

export type AuthDecision =
  | {
      ok: true;
      /** null on public routes. */
      identity: Identity | null;
      /** The `Authorization` header holds a gateway token and must not be forwarded. */
      dropAuthorization: boolean;
      /** The identity came from the cookie: ambient credentials, so Origin matters. */
      viaCookie: boolean;
    }
  | { ok: false; code: AuthFailureCode };

/** Worst failure first: a key set we cannot read beats an expired token beats a bad one. */
const FAILURE_RANK: Record<VerifyFailure, number> = { invalid: 1, expired: 2, unavailable: 3 };

/**
 * The access decision for a route. A Bearer token is tried first, then the cookie; a Bearer
 * header that is not ours (an app's own API key) is left for the target. Groups: a route with
 * groups admits users in at least one of them. Admins are not exempt: a route open to admins
 * lists the "admins" group, which every admin belongs to. `members` (from the control plane's
 * config) are the users' current groups; a user missing from it no longer exists. Without it
 * the token's claims decide.
 */
export async function authorize(
  route: { authenticated: boolean; groups: readonly string[] },
  headers: IncomingHttpHeaders,
  verifier: TokenVerifier,
  cookieName: string,
  members: ReadonlyMap<string, readonly string[]> | null = null,
): Promise<AuthDecision> {
  const bearer = bearerToken(headers.authorization);
  // Decoding the Bearer token only to see whose it is costs; do it only when it decides.
  const ours = () => bearer !== undefined && isGatewayToken(bearer);
  if (!route.authenticated) {
    return { ok: true, identity: null, dropAuthorization: ours(), viaCookie: false };
  }
  let failure: VerifyFailure | null = null;
  if (bearer !== undefined && JWT_SHAPE.test(bearer)) {
    const r = await verifier.verify(bearer);
    if (r.ok) return checkGroups(route, r.identity, members, true, false);
    failure = r.reason;
  }
  const cookie = getCookie(headers.cookie, cookieName);
  if (cookie !== undefined && cookie !== "") {
    const r = await verifier.verify(cookie);
    if (r.ok) return checkGroups(route, r.identity, members, ours(), true);
    if (failure === null || FAILURE_RANK[r.reason] > FAILURE_RANK[failure]) failure = r.reason;
  }
  const code: AuthFailureCode =
    failure === "unavailable"
      ? "APPGW_AUTH_UNAVAILABLE"
      : failure === "expired"
        ? "APPGW_TOKEN_EXPIRED"
        : "APPGW_UNAUTHORIZED";
  return { ok: false, code };
}

function checkGroups(
  route: { groups: readonly string[] },
  identity: Identity,
  members: ReadonlyMap<string, readonly string[]> | null,
  dropAuthorization: boolean,
  viaCookie: boolean,
): AuthDecision {
  const groups = members ? members.get(identity.id) : identity.groups;
  // A valid signature of a user the control plane no longer has: deleted since the login.
  if (groups === undefined) return { ok: false, code: "APPGW_UNAUTHORIZED" };
  if (route.groups.length > 0 && !route.groups.some((g) => groups.includes(g))) {
    return { ok: false, code: "APPGW_FORBIDDEN" };
  }
  return { ok: true, identity, dropAuthorization, viaCookie };
}
