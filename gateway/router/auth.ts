// Token verification and the access decision of a route. Tokens are JWTs the control plane signs
// and publishes as a JWKS; the router verifies them locally with explicit algorithms, issuer,
// audience and expiry (no `none`, small clock skew). Who may use a route is decided by the
// control plane's current membership (`members` of the configuration), never by claims frozen
// in a token, so the token only proves who the caller is.
import type { IncomingHttpHeaders } from "node:http";
import {
  createRemoteJWKSet,
  decodeJwt,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from "jose";
import { TOKENS } from "../token-format";
import { getCookie } from "../cookies";

export interface Identity {
  /** `sub`: the user id. */
  id: string;
  /** The `name` claim, or the id when the token has none. */
  name: string;
}

/** `invalid` covers expired tokens too: either way the client needs a new one. */
export type VerifyFailure = "invalid" | "unavailable";
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
  const { sub, name } = payload;
  if (typeof sub !== "string" || sub === "") return null;
  return { id: sub, name: typeof name === "string" && name !== "" ? name : sub };
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

/**
 * No gateway token at all (APPGW_UNAUTHORIZED), one that is invalid, expired or of a user the
 * control plane no longer has (APPGW_INVALID_TOKEN, ClearML's 401/30), a user the route does not
 * admit, or a key set the router cannot read.
 */
export type AuthFailureCode =
  "APPGW_UNAUTHORIZED" | "APPGW_INVALID_TOKEN" | "APPGW_FORBIDDEN" | "APPGW_AUTH_UNAVAILABLE";

export interface RouteAccess {
  authenticated: boolean;
  restricted: boolean;
  groups: readonly string[];
  users: readonly string[];
}

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

/**
 * The access decision for a route. A Bearer token is tried first, then the cookie; a Bearer
 * header that is not ours (an app's own API key) is left for the target. A restricted route
 * admits a user listed in `users` or a member of one of `groups`; any other authenticated route,
 * every authenticated user. Admins are not exempt: a route open to admins lists the "admins" group.
 * `members` (from the control plane's config) are the users' current groups; a user missing
 * from it no longer exists.
 */
export async function authorize(
  route: RouteAccess,
  headers: IncomingHttpHeaders,
  verifier: TokenVerifier,
  cookieName: string,
  members: ReadonlyMap<string, readonly string[]>,
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
    if (r.ok) return checkAccess(route, r.identity, members, true, false);
    failure = r.reason;
  }
  const cookie = getCookie(headers.cookie, cookieName);
  if (cookie !== undefined && cookie !== "") {
    const r = await verifier.verify(cookie);
    if (r.ok) return checkAccess(route, r.identity, members, ours(), true);
    // A key set we cannot read beats a bad token: the token may well be good.
    if (failure !== "unavailable") failure = r.reason;
  }
  const code: AuthFailureCode =
    failure === "unavailable"
      ? "APPGW_AUTH_UNAVAILABLE"
      : failure === "invalid"
        ? "APPGW_INVALID_TOKEN"
        : "APPGW_UNAUTHORIZED";
  return { ok: false, code };
}

function checkAccess(
  route: RouteAccess,
  identity: Identity,
  members: ReadonlyMap<string, readonly string[]>,
  dropAuthorization: boolean,
  viaCookie: boolean,
): AuthDecision {
  const refused = refusal(route, identity.id, members);
  if (refused !== null) return { ok: false, code: refused };
  return { ok: true, identity, dropAuthorization, viaCookie };
}

/**
 * Whether the user may use the route now, by the control plane's current membership: null when
 * admitted. Asked for every request, and again for every open exchange (WebSockets, streams) when
 * the configuration changes, so revoking access ends what is already open too.
 */
export function refusal(
  route: RouteAccess,
  userId: string,
  members: ReadonlyMap<string, readonly string[]>,
): "APPGW_INVALID_TOKEN" | "APPGW_FORBIDDEN" | null {
  const groups = members.get(userId);
  // A valid signature of a user the control plane no longer has: deleted since the login.
  if (groups === undefined) return "APPGW_INVALID_TOKEN";
  if (
    route.restricted &&
    !route.users.includes(userId) &&
    !route.groups.some((g) => groups.includes(g))
  ) {
    return "APPGW_FORBIDDEN";
  }
  return null;
}
