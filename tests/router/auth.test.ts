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

  const alice = () => sign({ sub: "u-alice", name: "alice" });
  const admin = () => sign({ sub: "u-admin", name: "admin" });
  /** The control plane's current membership, as `appgw.get_router_config` sends it. */
  const members = new Map([
    ["u-alice", ["users", "g-research"]],
    ["u-admin", ["users", "admins"]],
    ["u1", ["users"]],
  ]);
  const route = (groups: string[] = [], authenticated = true, users: string[] = []) => ({
    authenticated,
    restricted: groups.length > 0 || users.length > 0,
    groups,
    users,
  });
  const bearer = (token: string): IncomingHttpHeaders => ({ authorization: `Bearer ${token}` });
  const decide = (r: ReturnType<typeof route>, headers: IncomingHttpHeaders, m = members) =>
    authorize(r, headers, verifier, "appgw_token", m);

  it("accepts an ES256 token from the control plane and reads who it is", async () => {
    const r = await verifier.verify(await alice());
    assert.ok(r.ok);
    assert.deepEqual(r.identity, { id: "u-alice", name: "alice" });
    const unnamed = await verifier.verify(await sign({ sub: "u1" }));
    assert.ok(unnamed.ok);
    assert.deepEqual(unnamed.identity, { id: "u1", name: "u1" });
  });

  it("refuses other issuers, audiences, signers, algorithms and garbage", async () => {
    const claims = { sub: "u1" };
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

  it("refuses expired tokens, allowing 30 s of clock skew", async () => {
    const now = Math.floor(Date.now() / 1000);
    assert.deepEqual(await verifier.verify(await sign({ sub: "u1" }, { exp: now - 120 })), {
      ok: false,
      reason: "invalid",
    });
    assert.ok((await verifier.verify(await sign({ sub: "u1" }, { exp: now - 10 }))).ok);
  });

  it("refuses tokens without a subject", async () => {
    assert.deepEqual(await verifier.verify(await sign({ name: "nobody" })), {
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
    const d = await decide(route([], false), bearer(await alice()));
    assert.deepEqual(d, { ok: true, identity: null, dropAuthorization: true, viaCookie: false });
    const app = await decide(route([], false), bearer("sk-app-key"));
    assert.deepEqual(app, { ok: true, identity: null, dropAuthorization: false, viaCookie: false });
  });

  it("authenticates with the cookie and leaves an app's own Bearer key for the target", async () => {
    const d = await decide(route(), {
      cookie: `x=1; appgw_token=${await alice()}`,
      authorization: "Bearer sk-app-key",
    });
    assert.ok(d.ok);
    assert.equal(d.identity?.name, "alice");
    assert.equal(d.dropAuthorization, false);
    assert.equal(d.viaCookie, true);
  });

  it("authenticates with a Bearer token and marks it for removal", async () => {
    const d = await decide(route(), bearer(await alice()));
    assert.ok(d.ok);
    assert.equal(d.dropAuthorization, true);
    assert.equal(d.viaCookie, false);
  });

  it("answers a missing token with APPGW_UNAUTHORIZED, and bad or expired ones with APPGW_INVALID_TOKEN", async () => {
    assert.deepEqual(await decide(route(), {}), { ok: false, code: "APPGW_UNAUTHORIZED" });
    // An app's own key is no gateway token: as good as none.
    assert.deepEqual(await decide(route(), bearer("sk-app-key")), {
      ok: false,
      code: "APPGW_UNAUTHORIZED",
    });
    assert.deepEqual(await decide(route(), bearer(foreign)), {
      ok: false,
      code: "APPGW_INVALID_TOKEN",
    });
    const expired = await sign({ sub: "u1" }, { exp: Math.floor(Date.now() / 1000) - 120 });
    assert.deepEqual(await decide(route(), { cookie: `appgw_token=${expired}` }), {
      ok: false,
      code: "APPGW_INVALID_TOKEN",
    });
  });

  it("admits a user in one of the route's groups and forbids others", async () => {
    assert.ok((await decide(route(["g-research"]), bearer(await alice()))).ok);
    assert.deepEqual(await decide(route(["g-ops"]), bearer(await alice())), {
      ok: false,
      code: "APPGW_FORBIDDEN",
    });
  });

  it("admits a user the route lists by id, in none of its groups", async () => {
    assert.ok((await decide(route(["g-ops"], true, ["u-alice"]), bearer(await alice()))).ok);
    assert.ok((await decide(route([], true, ["u-alice"]), bearer(await alice()))).ok);
    assert.deepEqual(await decide(route([], true, ["u-alice"]), bearer(await admin())), {
      ok: false,
      code: "APPGW_FORBIDDEN",
    });
  });

  it("does not exempt admins from group checks unless the route lists admins", async () => {
    assert.deepEqual(await decide(route(["g-research"]), bearer(await admin())), {
      ok: false,
      code: "APPGW_FORBIDDEN",
    });
    assert.ok((await decide(route(["g-research", "admins"]), bearer(await admin()))).ok);
  });

  it("checks the control plane's current membership, whatever the token says", async () => {
    const token = bearer(await sign({ sub: "u-alice", name: "alice", groups: ["g-research"] }));
    // The token claims g-research; the control plane says alice left it.
    const left = new Map([["u-alice", ["users"]]]);
    assert.deepEqual(await decide(route(["g-research"]), token, left), {
      ok: false,
      code: "APPGW_FORBIDDEN",
    });
    const joined = new Map([["u-alice", ["users", "g-ops"]]]);
    assert.ok((await decide(route(["g-ops"]), token, joined)).ok);
  });

  it("refuses a validly signed token of a user the control plane no longer has", async () => {
    assert.deepEqual(await decide(route([]), bearer(await alice()), new Map()), {
      ok: false,
      code: "APPGW_INVALID_TOKEN",
    });
  });

  it("admits every authenticated user when the route has neither groups nor users", async () => {
    assert.ok((await decide(route([]), bearer(await alice()))).ok);
  });

  it("admits no one to a restricted route whose groups and users are all gone", async () => {
    const emptied = { ...route([]), restricted: true };
    assert.deepEqual(await decide(emptied, bearer(await alice())), {
      ok: false,
      code: "APPGW_FORBIDDEN",
    });
  });

  it("reports an unreachable key set as unavailable, not as a bad token", async () => {
    const down = new TokenVerifier(async () => {
      throw new TypeError("fetch failed");
    });
    assert.deepEqual(await down.verify(await alice()), { ok: false, reason: "unavailable" });
    assert.deepEqual(
      await authorize(route(), bearer(await alice()), down, "appgw_token", members),
      {
        ok: false,
        code: "APPGW_AUTH_UNAVAILABLE",
      },
    );
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
    const [a, b, c] = [await alice(), await admin(), await sign({ sub: "u3" })];
    await counting.verify(a);
    await counting.verify(a);
    assert.equal(lookups, 1);
    await counting.verify(b);
    await counting.verify(c); // evicts a, the least recently used
    await counting.verify(a);
    assert.equal(lookups, 4);
  });
});
