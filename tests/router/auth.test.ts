import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type JWTPayload,
  type JWTVerifyGetKey,
} from "jose";
import { authorize, bearerToken, TokenVerifier } from "../../gateway/router/auth";

describe("router authentication", () => {
  let sign: (
    claims: JWTPayload,
    opts?: { exp?: string | number; iss?: string; aud?: string },
  ) => Promise<string>;
  let verifier: TokenVerifier;
  let foreign: string;
  let keySet: JWTVerifyGetKey;

  before(async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" };
    keySet = createLocalJWKSet({ keys: [jwk] });
    verifier = new TokenVerifier(keySet);
    sign = (claims, opts = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", kid: "k1" })
        .setIssuer(opts.iss ?? "appgw")
        .setAudience(opts.aud ?? "appgw")
        .setIssuedAt()
        .setExpirationTime(opts.exp ?? "1h")
        .sign(privateKey);
    const other = await generateKeyPair("ES256");
    foreign = await new SignJWT({ sub: "u1", groups: ["users"] })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer("appgw")
      .setAudience("appgw")
      .setExpirationTime("1h")
      .sign(other.privateKey);
  });

  const alice = () =>
    sign({ sub: "u-alice", name: "alice", admin: false, groups: ["users", "g-research"] });
  const admin = () =>
    sign({ sub: "u-admin", name: "admin", admin: true, groups: ["users", "admins"] });
  const route = (groups: string[] = [], authenticated = true) => ({ authenticated, groups });
  const bearer = (token: string): IncomingHttpHeaders => ({ authorization: `Bearer ${token}` });

  it("accepts an ES256 token from the control plane and reads the claims", async () => {
    const r = await verifier.verify(await alice());
    assert.ok(r.ok);
    assert.deepEqual(r.identity, {
      id: "u-alice",
      name: "alice",
      admin: false,
      groups: ["users", "g-research"],
    });
  });

  it("refuses other issuers, audiences, signers, algorithms and garbage", async () => {
    const claims = { sub: "u1", groups: ["users"] };
    const hs256 = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("appgw")
      .setAudience("appgw")
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode("k".repeat(32)));
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ ...claims, iss: "appgw", aud: "appgw", exp: 9999999999 })).toString("base64url")}.`;
    for (const token of [
      await sign(claims, { iss: "other" }),
      await sign(claims, { aud: "other" }),
      foreign,
      hs256,
      none,
      "not-a-jwt",
    ]) {
      assert.deepEqual(await verifier.verify(token), { ok: false, reason: "invalid" });
    }
  });

  it("tells expired tokens apart, allowing 30 s of clock skew", async () => {
    const now = Math.floor(Date.now() / 1000);
    assert.deepEqual(
      await verifier.verify(await sign({ sub: "u1", groups: [] }, { exp: now - 120 })),
      {
        ok: false,
        reason: "expired",
      },
    );
    assert.ok((await verifier.verify(await sign({ sub: "u1", groups: [] }, { exp: now - 10 }))).ok);
  });

  it("refuses tokens without groups", async () => {
    assert.deepEqual(await verifier.verify(await sign({ sub: "u1" })), {
      ok: false,
      reason: "invalid",
    });
  });

  it("reads the Bearer scheme in any case", () => {
    assert.equal(bearerToken("Bearer abc"), "abc");
    assert.equal(bearerToken("bearer  abc "), "abc");
    assert.equal(bearerToken("Basic abc"), undefined);
    assert.equal(bearerToken("Bearer "), undefined);
  });

  it("lets anyone through a public route and still keeps the gateway token from the target", async () => {
    const d = await authorize(route([], false), bearer(await alice()), verifier, "appgw_token");
    assert.deepEqual(d, { ok: true, identity: null, dropAuthorization: true, viaCookie: false });
    const app = await authorize(route([], false), bearer("sk-app-key"), verifier, "appgw_token");
    assert.deepEqual(app, { ok: true, identity: null, dropAuthorization: false, viaCookie: false });
  });

  it("authenticates with the cookie and leaves an app's own Bearer key for the target", async () => {
    const d = await authorize(
      route(),
      { cookie: `x=1; appgw_token=${await alice()}`, authorization: "Bearer sk-app-key" },
      verifier,
      "appgw_token",
    );
    assert.ok(d.ok);
    assert.equal(d.identity?.name, "alice");
    assert.equal(d.dropAuthorization, false);
    assert.equal(d.viaCookie, true);
  });

  it("authenticates with a Bearer token and marks it for removal", async () => {
    const d = await authorize(route(), bearer(await alice()), verifier, "appgw_token");
    assert.ok(d.ok);
    assert.equal(d.dropAuthorization, true);
    assert.equal(d.viaCookie, false);
  });

  it("answers missing and invalid tokens with APPGW_UNAUTHORIZED and expired ones with APPGW_TOKEN_EXPIRED", async () => {
    assert.deepEqual(await authorize(route(), {}, verifier, "appgw_token"), {
      ok: false,
      code: "APPGW_UNAUTHORIZED",
    });
    assert.deepEqual(await authorize(route(), bearer(foreign), verifier, "appgw_token"), {
      ok: false,
      code: "APPGW_UNAUTHORIZED",
    });
    const expired = await sign(
      { sub: "u1", groups: ["users"] },
      { exp: Math.floor(Date.now() / 1000) - 120 },
    );
    assert.deepEqual(
      await authorize(route(), { cookie: `appgw_token=${expired}` }, verifier, "appgw_token"),
      {
        ok: false,
        code: "APPGW_TOKEN_EXPIRED",
      },
    );
  });

  it("admits a user in one of the route's groups and forbids others", async () => {
    assert.ok(
      (await authorize(route(["g-research"]), bearer(await alice()), verifier, "appgw_token")).ok,
    );
    assert.deepEqual(
      await authorize(route(["g-ops"]), bearer(await alice()), verifier, "appgw_token"),
      {
        ok: false,
        code: "APPGW_FORBIDDEN",
      },
    );
  });

  it("does not exempt admins from group checks unless the route lists admins", async () => {
    assert.deepEqual(
      await authorize(route(["g-research"]), bearer(await admin()), verifier, "appgw_token"),
      {
        ok: false,
        code: "APPGW_FORBIDDEN",
      },
    );
    assert.ok(
      (
        await authorize(
          route(["g-research", "admins"]),
          bearer(await admin()),
          verifier,
          "appgw_token",
        )
      ).ok,
    );
  });

  it("checks the control plane's current membership over the token's claims when it has one", async () => {
    const token = bearer(await alice());
    // Claims say g-research; the control plane says alice left it.
    const left = new Map([["u-alice", ["users"]]]);
    assert.deepEqual(await authorize(route(["g-research"]), token, verifier, "appgw_token", left), {
      ok: false,
      code: "APPGW_FORBIDDEN",
    });
    const joined = new Map([["u-alice", ["users", "g-ops"]]]);
    assert.ok((await authorize(route(["g-ops"]), token, verifier, "appgw_token", joined)).ok);
  });

  it("refuses a validly signed token of a user the control plane no longer has", async () => {
    const gone = new Map<string, string[]>();
    assert.deepEqual(
      await authorize(route([]), bearer(await alice()), verifier, "appgw_token", gone),
      {
        ok: false,
        code: "APPGW_UNAUTHORIZED",
      },
    );
  });

  it("admits every authenticated user when the route has no groups", async () => {
    assert.ok((await authorize(route([]), bearer(await alice()), verifier, "appgw_token")).ok);
  });

  it("reports an unreachable key set as unavailable, not as a bad token", async () => {
    const down = new TokenVerifier(async () => {
      throw new TypeError("fetch failed");
    });
    assert.deepEqual(await down.verify(await alice()), { ok: false, reason: "unavailable" });
    assert.deepEqual(await authorize(route(), bearer(await alice()), down, "appgw_token"), {
      ok: false,
      code: "APPGW_AUTH_UNAVAILABLE",
    });
  });

  it("remembers verified tokens without asking the key set again, within a bounded cache", async () => {
    let lookups = 0;
    const counting = new TokenVerifier(
      (header, token) => {
        lookups++;
        return keySet(header, token);
      },
      { cacheSize: 2 },
    );
    const [a, b, c] = [await alice(), await admin(), await sign({ sub: "u3", groups: ["users"] })];
    await counting.verify(a);
    await counting.verify(a);
    assert.equal(lookups, 1);
    await counting.verify(b);
    await counting.verify(c); // evicts a, the least recently used
    await counting.verify(a);
    assert.equal(lookups, 4);
  });
});
