// Tokens are ES256 JWTs signed by the control plane. The key pair lives in the store so tokens
// outlive restarts; routers verify them against the published JWKS without calling back.
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import {
  calculateJwkThumbprint,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
} from "jose";
import { TOKENS } from "../token-format";
import { appgwError } from "@appgw/sdk/errors";
import type { Store } from "../store";
import { API_VERSION, SERVER_VERSION } from "./version";

const ALG = TOKENS.algorithm;

/**
 * What a token says: who it is, nothing more. Role and groups are read from the store on every
 * call (and routers read membership from their configuration), so a token never carries a
 * stale copy of them.
 */
export interface TokenClaims {
  sub: string;
  name: string;
  /** Expiry, epoch seconds: read from a verified token, never given to `sign`. */
  exp?: number;
}

/**
 * What ClearML's clients read from the token instead of calling `server.info`: the API level
 * they may use, the server release (static routes need 3.26) and the feature set
 * (`Task.request_external_endpoint` needs `advanced`, the Enterprise server's). The open-source
 * server signs the same three claims (with `basic`).
 */
const SERVER_CLAIMS = {
  api_version: API_VERSION,
  server_version: SERVER_VERSION,
  feature_set: "advanced",
} as const;

export class TokenService {
  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    private readonly publicJwk: JWK,
  ) {}

  /** Loads the signing key from the store, creating it on first start. */
  static async load(store: Store): Promise<TokenService> {
    let stored = store.getMeta("signing_key");
    if (!stored) {
      const { privateKey } = await generateKeyPair(ALG, { extractable: true });
      const jwk = await exportJWK(privateKey);
      jwk.kid = await calculateJwkThumbprint(jwk);
      stored = JSON.stringify(jwk);
      store.setMeta("signing_key", stored);
    }
    const jwk = JSON.parse(stored) as JWK;
    const publicJwk: JWK = { ...jwk };
    delete publicJwk.d;
    const privateKey = (await importJWK(jwk, ALG)) as CryptoKey;
    const publicKey = (await importJWK(publicJwk, ALG)) as CryptoKey;
    return new TokenService(privateKey, publicKey, { ...publicJwk, alg: ALG, use: "sig" });
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  sign(claims: TokenClaims, ttlSec: number): Promise<string> {
    return new SignJWT({ name: claims.name, ...SERVER_CLAIMS })
      .setProtectedHeader({ alg: ALG, kid: this.publicJwk.kid })
      .setSubject(claims.sub)
      .setIssuer(TOKENS.issuer)
      .setAudience(TOKENS.audience)
      .setIssuedAt()
      .setExpirationTime(`${ttlSec}s`)
      .sign(this.privateKey);
  }

  /** Verifies signature, algorithm, issuer, audience and expiry (30 s skew). */
  async verify(token: string): Promise<TokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: [ALG],
        issuer: TOKENS.issuer,
        audience: TOKENS.audience,
        clockTolerance: 30,
      });
      if (typeof payload.sub !== "string") throw new Error("no subject");
      return {
        sub: payload.sub,
        name: String(payload.name ?? ""),
        exp: payload.exp,
      };
    } catch (err) {
      // ClearML answers 401/30 for both: the client logs in again either way.
      const reason = err instanceof joseErrors.JWTExpired ? "expired" : "invalid";
      throw appgwError("APPGW_INVALID_TOKEN", `${reason} token: log in again (auth.login)`, {
        field: "authorization",
        reason,
      });
    }
  }
}

const scryptAsync = promisify(scrypt) as (pw: string, salt: Buffer, len: number) => Promise<Buffer>;

/** `scrypt$<salt>$<hash>`, both base64url. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(secret, salt, 32);
  return `scrypt$${salt.toString("base64url")}$${hash.toString("base64url")}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64url");
  const actual = await scryptAsync(secret, Buffer.from(salt, "base64url"), expected.length);
  return timingSafeEqual(actual, expected);
}

/** Random credentials in ClearML's shape: a short access key and a long secret. */
export function generateCredentials(): { accessKey: string; secretKey: string } {
  return {
    accessKey: randomBytes(15)
      .toString("base64url")
      .replace(/[-_]/g, "X")
      .toUpperCase()
      .slice(0, 20),
    secretKey: randomBytes(36).toString("base64url"),
  };
}
