// The authentication matrix of the data plane, through a real router: tokens in Bearer headers and
// in the auth cookie, group checks, browser redirects and the login page.
import assert from "node:assert/strict";
import { generateKeyPair, SignJWT, type JWK } from "jose";
import { request } from "undici";
import {
  createRoute,
  echoOf,
  errorCode,
  routerBase,
  send,
  setCookies,
  startDataplaneGateway,
  startEchoApp,
  waitRouted,
  WsProbe,
} from "../helpers/dataplane";
import type { TestGateway } from "../helpers/gateway";
import { AppGatewayClient, SYSTEM_GROUPS } from "@appgw/sdk";

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

describe("security: route authentication through the router", () => {
  let t: TestGateway;
  let alice: { id: string; accessKey: string; secretKey: string; token: string };
  let bob: { id: string; token: string };
  let carol: { id: string; token: string };
  let adminToken: string;
  let team: string;
  let gatewayJwk: JWK;

  async function user(name: string) {
    const { id, credentials } = await t.client.addUser({ name });
    const client = new AppGatewayClient({
      apiHost: t.apiUrl,
      accessKey: credentials.access_key,
      secretKey: credentials.secret_key,
    });
    return { id, accessKey: credentials.access_key, secretKey: credentials.secret_key, client };
  }

  before(async () => {
    t = await startDataplaneGateway();
    const a = await user("alice");
    const b = await user("bob");
    const c = await user("carol");
    ({ id: team } = await t.client.groups.save({ name: "ml-team", users: [a.id] }));
    alice = { ...a, token: await a.client.token() };
    bob = { id: b.id, token: await b.client.token() };
    carol = { id: c.id, token: await c.client.token() };
    adminToken = await t.client.token();
    const jwks = (await (await request(`${t.apiUrl}/.well-known/jwks.json`)).body.json()) as {
      keys: JWK[];
    };
    gatewayJwk = jwks.keys[0]!;

    const privateRoute = await createRoute(t, { name: "private", groups: [team] });
    await createRoute(t, { name: "admins-too", groups: [team, SYSTEM_GROUPS.admins.id] });
    await createRoute(t, { name: "members" });
    await createRoute(t, { name: "open", public: true });
    // Carol is in no group of the route: an access rule names her.
    await t.client.accessRules.save({
      name: "carol-on-private",
      description: "carol may use /private",
      access_permission: "read",
      entity_type: "route",
      entity_id: privateRoute,
      users: [carol.id],
      groups: [],
    });
    const tasks = await Promise.all(
      ["private", "admins-too", "members", "open"].map((r) => startEchoApp(t, r)),
    );
    await Promise.all(
      ["private", "admins-too", "members", "open"].map((r, i) =>
        waitRouted(t, `/${r}/`, {
          task: tasks[i],
          headers: { authorization: `Bearer ${alice.token}` },
        }),
      ),
    );
  });
  after(() => t.stop());

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const cookie = (token: string) => ({ cookie: `appgw_token=${token}` });
  /** Alice's claims, as the control API would sign them. */
  const aliceClaims = () => ({ name: "alice" });

  /** Alice's token as the control API would sign it, expired two minutes ago. */
  const expiredAliceToken = () => {
    const tokens = t.gw.api.tokens;
    // Claims beyond `sub` and `name` are the control API's business; routers read only those.
    const claims = { sub: alice.id, ...aliceClaims(), admin: false, groups: [] };
    return tokens.sign(claims as unknown as Parameters<typeof tokens.sign>[0], -120);
  };

  function assertUnauthorized(reply: Awaited<ReturnType<typeof send>>, what: string) {
    assert.equal(reply.status, 401, `${what}: ${reply.text}`);
    assert.equal(reply.headers["www-authenticate"], 'Bearer realm="appgw"', what);
    assert.ok(!reply.text.includes("appgw-echo"), `${what} reached the app`);
  }

  describe("the matrix", () => {
    it("answers a request without a token 401 with WWW-Authenticate", async () => {
      const reply = await send(t, "/private/x");
      assertUnauthorized(reply, "no token");
      assert.equal(errorCode(reply), "APPGW_UNAUTHORIZED");
    });

    it("redirects a browser navigation without a token to /_appgw/login?next=<path and query>", async () => {
      const html = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
      const reply = await send(t, "/private/lab/tree?tab=1&x=%2F", { headers: html });
      assert.equal(reply.status, 302);
      assert.equal(
        reply.headers.location,
        `/_appgw/login?next=${encodeURIComponent("/private/lab/tree?tab=1&x=%2F")}`,
      );
      // Not navigations: a POST, and an API client that sends a (bad) token.
      assertUnauthorized(await send(t, "/private/x", { method: "POST", headers: html }), "POST");
      assertUnauthorized(
        await send(t, "/private/x", { headers: { ...html, ...bearer("nope") } }),
        "GET with Authorization",
      );
    });

    it("refuses a token signed by another ES256 key (401)", async () => {
      const { privateKey } = await generateKeyPair("ES256");
      for (const kid of [gatewayJwk.kid, "someone-elses-key", undefined]) {
        const token = await new SignJWT(aliceClaims())
          .setProtectedHeader(kid === undefined ? { alg: "ES256" } : { alg: "ES256", kid })
          .setSubject(alice.id)
          .setIssuer("appgw")
          .setAudience("appgw")
          .setIssuedAt()
          .setExpirationTime("10m")
          .sign(privateKey);
        assertUnauthorized(await send(t, "/private/x", { headers: bearer(token) }), `kid ${kid}`);
        assertUnauthorized(await send(t, "/private/x", { headers: cookie(token) }), `kid ${kid}`);
      }
    });

    it("refuses an expired token (401 APPGW_INVALID_TOKEN)", async () => {
      const reply = await send(t, "/private/x", { headers: bearer(await expiredAliceToken()) });
      assertUnauthorized(reply, "expired");
      assert.equal(errorCode(reply), "APPGW_INVALID_TOKEN");
    });

    it("refuses an alg:none token and an HS256 token keyed with the public key (401)", async () => {
      const payload = {
        ...aliceClaims(),
        sub: alice.id,
        iss: "appgw",
        aud: "appgw",
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 600,
      };
      const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64(payload)}`;
      const hs256 = await new SignJWT(payload)
        .setProtectedHeader({ alg: "HS256", kid: gatewayJwk.kid })
        .sign(new TextEncoder().encode(JSON.stringify(gatewayJwk)));
      for (const token of [`${unsigned}.`, `${unsigned}.AAAA`, unsigned, hs256]) {
        assertUnauthorized(await send(t, "/private/x", { headers: bearer(token) }), token);
        assertUnauthorized(await send(t, "/private/x", { headers: cookie(token) }), token);
      }
    });

    it("admits a user an access rule of the route names, in none of its groups", async () => {
      const echo = echoOf(await send(t, "/private/x", { headers: bearer(carol.token) }));
      assert.equal(echo.headers["x-appgw-user-id"], carol.id);
      // The rule is for /private only.
      assert.equal((await send(t, "/admins-too/x", { headers: bearer(carol.token) })).status, 403);
    });

    it("forbids a valid token of a user outside the route's groups (403)", async () => {
      const reply = await send(t, "/private/x", { headers: bearer(bob.token) });
      assert.equal(reply.status, 403);
      assert.equal(errorCode(reply), "APPGW_FORBIDDEN");
      assert.ok(!reply.text.includes("appgw-echo"));
      // A browser of a logged-in outsider is not sent to log in again.
      const nav = await send(t, "/private/x", {
        headers: { accept: "text/html", ...cookie(bob.token) },
      });
      assert.equal(nav.status, 403);
    });

    it("admits a member of the route's group (200) and names the user to the app", async () => {
      const echo = echoOf(await send(t, "/private/x", { headers: bearer(alice.token) }));
      assert.equal(echo.headers["x-appgw-user"], "alice");
      assert.equal(echo.headers["x-appgw-user-id"], alice.id);
      // A route without groups admits every authenticated user.
      assert.equal(echoOf(await send(t, "/members/", { headers: bearer(bob.token) })).url, "/");
    });

    it("forbids an admin outside the route's groups (403): admins are not exempt", async () => {
      const reply = await send(t, "/private/x", { headers: bearer(adminToken) });
      assert.equal(reply.status, 403);
      assert.equal(errorCode(reply), "APPGW_FORBIDDEN");
    });

    it("admits an admin on a route that lists the admins group", async () => {
      const echo = echoOf(await send(t, "/admins-too/x", { headers: bearer(adminToken) }));
      assert.equal(echo.headers["x-appgw-user"], "admin");
      echoOf(await send(t, "/admins-too/x", { headers: bearer(alice.token) }));
      assert.equal((await send(t, "/admins-too/x", { headers: bearer(bob.token) })).status, 403);
    });

    it("serves a public route without a token and announces no user", async () => {
      const echo = echoOf(await send(t, "/open/x"));
      assert.equal(echo.headers["x-appgw-user"], undefined);
      assert.equal(echo.headers["x-appgw-user-id"], undefined);
    });

    it("accepts the token from the appgw_token cookie exactly as from a Bearer header", async () => {
      const cases: [string, number][] = [
        [alice.token, 200],
        [bob.token, 403],
        [adminToken, 403],
        [await expiredAliceToken(), 401],
        // JWT-shaped: a Bearer value that is not shaped like one is an app's key, not ours.
        [`${b64({ alg: "ES256" })}.${b64({ sub: alice.id })}.c2ln`, 401],
      ];
      for (const [token, status] of cases) {
        const viaBearer = await send(t, "/private/x", { headers: bearer(token) });
        const viaCookie = await send(t, "/private/x", {
          headers: { cookie: `theme=dark; appgw_token=${token}; lang=en` },
        });
        assert.equal(viaBearer.status, status, `Bearer ${token.slice(0, 12)}`);
        assert.equal(viaCookie.status, status, `cookie ${token.slice(0, 12)}`);
        assert.equal(errorCode(viaCookie), errorCode(viaBearer));
        if (status === 200) assert.equal(echoOf(viaCookie).headers["x-appgw-user"], "alice");
      }
      // A bad Bearer header does not hide a good cookie.
      const both = await send(t, "/private/x", {
        headers: { ...bearer("sk-app-key"), ...cookie(alice.token) },
      });
      assert.equal(echoOf(both).headers["x-appgw-user"], "alice");
    });

    it("refuses a WebSocket handshake without a token (401, never a redirect)", async () => {
      const url = `${routerBase(t).replace(/^http/, "ws")}/private/ws`;
      const err = (await WsProbe.open(url, { headers: { accept: "text/html" } }).then(
        () => assert.fail("handshake accepted"),
        (e: unknown) => e,
      )) as { res?: { statusCode?: number } };
      assert.equal(err.res?.statusCode, 401);
      const ok = await WsProbe.open(url, { headers: bearer(alice.token) });
      ok.close();
    });

    it("refuses a cookie-authenticated WebSocket handshake from another origin (403)", async () => {
      const base = routerBase(t);
      const url = `${base.replace(/^http/, "ws")}/private/ws`;
      const err = (await WsProbe.open(url, {
        headers: { ...cookie(alice.token), origin: "https://evil.example" },
      }).then(
        () => assert.fail("cross-origin handshake accepted"),
        (e: unknown) => e,
      )) as { res?: { statusCode?: number } };
      assert.equal(err.res?.statusCode, 403);
      const same = await WsProbe.open(url, { headers: { ...cookie(alice.token), origin: base } });
      same.close();
    });
  });

  describe("the login page", () => {
    async function login(form: Record<string, string>) {
      const res = await request(`${routerBase(t)}/_appgw/login`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(form).toString(),
      });
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
    }

    it("sets the appgw_token cookie (HttpOnly, SameSite=Lax, Path=/) for good credentials and 303s to next", async () => {
      const reply = await login({
        access_key: alice.accessKey,
        secret_key: alice.secretKey,
        next: "/private/lab?x=1",
      });
      assert.equal(reply.status, 303);
      assert.equal(reply.headers.location, "/private/lab?x=1");
      const [set, ...others] = setCookies(reply.headers);
      assert.equal(others.length, 0);
      assert.match(set!, /^appgw_token=[\w-]+\.[\w-]+\.[\w-]+;/);
      const attrs = set!.split(";").map((a) => a.trim().toLowerCase());
      assert.ok(attrs.includes("httponly"), set);
      assert.ok(attrs.includes("samesite=lax"), set);
      assert.ok(attrs.includes("path=/"), set);
      assert.ok(
        attrs.some((a) => /^max-age=\d+$/.test(a)),
        set,
      );
      // The cookie opens the route.
      const token = set!.split(";")[0]!.slice("appgw_token=".length);
      const echo = echoOf(await send(t, "/private/lab?x=1", { headers: cookie(token) }));
      assert.equal(echo.headers["x-appgw-user"], "alice");
    });

    it("answers bad credentials 401 with the form again and no cookie", async () => {
      for (const form of [
        { access_key: alice.accessKey, secret_key: "wrong-secret-0123456789", next: "/private" },
        { access_key: "NOSUCHKEY123", secret_key: "whatever-0123456789", next: "/private" },
        { access_key: "", secret_key: "", next: "/private" },
      ]) {
        const reply = await login(form);
        assert.equal(reply.status, 401, JSON.stringify(form));
        assert.deepEqual(setCookies(reply.headers), []);
        assert.match(String(reply.headers["content-type"]), /text\/html/);
        assert.match(reply.text, /<form method="post" action="\/_appgw\/login">/);
        assert.match(reply.text, /name="next" value="\/private"/);
      }
    });

    it("redirects only to a local path: next=//evil.example, https://evil.example or /\\evil go to /", async () => {
      for (const next of [
        "//evil.example",
        "//evil.example/private",
        "https://evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "",
      ]) {
        const reply = await login({
          access_key: alice.accessKey,
          secret_key: alice.secretKey,
          next,
        });
        assert.equal(reply.status, 303, JSON.stringify(next));
        assert.equal(reply.headers.location, "/", JSON.stringify(next));
        // The form shown for that next value carries "/" too.
        const page = await request(
          `${routerBase(t)}/_appgw/login?next=${encodeURIComponent(next)}`,
        );
        const html = await page.body.text();
        assert.equal(page.statusCode, 200);
        assert.match(html, /name="next" value="\/"/, JSON.stringify(next));
      }
    });

    it("escapes a hostile next value in the login form", async () => {
      const next = `/x"><script>alert(1)</script>`;
      const page = await request(`${routerBase(t)}/_appgw/login?next=${encodeURIComponent(next)}`);
      const html = await page.body.text();
      assert.ok(!html.includes("<script>"), html);
      assert.match(String(page.headers["content-security-policy"]), /default-src 'none'/);
      assert.equal(page.headers["x-frame-options"], "DENY");
    });
  });
});
