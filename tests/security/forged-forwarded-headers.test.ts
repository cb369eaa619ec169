// `X-Forwarded-Host` and `X-Forwarded-Proto` say which origin a proxy's client addressed. Believed
// from anyone, they let a request name the origin its own `Origin` is compared with: a cross-site
// post to the settings page from loopback, which was trusted by default, passed the page's
// same-origin check. They count only from a proxy listed in APPGW_TRUSTED_PROXIES (none by
// default); the router's checks never read them. docs/security.md, "The settings page".
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { request } from "undici";
import { apiSettingsFromEnv } from "@appgw/gateway";
import { postForm, postFormTo as post, sessionCookie as sessionOf, signIn } from "../console/http";
import {
  attachUpstream,
  createRoute,
  errorCode,
  setCookies,
  startUpstream,
} from "../helpers/dataplane";
import { eventually, startTestGateway, type TestGateway } from "../helpers/gateway";

/** What an attacker's request says: its own site, as if a proxy had forwarded it from there. */
const FORGED = {
  origin: "https://evil.example",
  "x-forwarded-host": "evil.example",
  "x-forwarded-proto": "https",
};
const ROUTE_FORM = { type: "path", authenticated: "on" };
/** The address the proxies below reach the gateway from. */
const PROXY_ADDRESS = "127.0.0.2";

/**
 * A TLS-terminating proxy set up as nginx usually is (`proxy_set_header Host $host`,
 * `X-Forwarded-Proto https`, `X-Forwarded-Host $host`, `X-Forwarded-For $remote_addr`): it
 * replaces any forwarded header its client sent and reaches the upstream from PROXY_ADDRESS.
 * Tests speak plain HTTP to it: TLS ends at the proxy, and the upstream never sees it.
 */
async function tlsProxy(upstream: string): Promise<{ url: string; close(): Promise<void> }> {
  const target = new URL(upstream);
  const server = http.createServer((req, res) => {
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([name]) => !name.startsWith("x-forwarded-")),
    );
    headers["x-forwarded-proto"] = "https";
    headers["x-forwarded-host"] = req.headers.host;
    headers["x-forwarded-for"] = req.socket.remoteAddress;
    const forwarded = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers,
        localAddress: PROXY_ADDRESS,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on("error", () => res.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe("security: forged X-Forwarded-Host/Proto", () => {
  describe("the settings page, with no proxy configured (the default)", () => {
    let t: TestGateway;
    let cookie: string;
    before(async () => {
      t = await startTestGateway({ agent: false });
      cookie = await signIn(t);
    });
    after(() => t?.stop());

    it("refuses a cross-site post from loopback whose X-Forwarded-Host/Proto name the attacker's site, and changes nothing", async () => {
      const form = { ...ROUTE_FORM, name: "forged", route: "/forged" };
      const res = await postForm(t, "/ui/routes", cookie, form, FORGED);
      assert.equal(res.status, 403, res.text);
      assert.match(res.text, /must be sent from the settings page itself/);
      assert.equal(await t.client.routes.findByName("forged"), undefined);

      // Nor can another site sign a browser in to the attacker's account.
      const login = await postForm(
        t,
        "/ui/login",
        undefined,
        { access_key: t.admin.accessKey, secret_key: t.admin.secretKey },
        FORGED,
      );
      assert.equal(login.status, 403, login.text);
      assert.deepEqual(setCookies(login.headers), []);
    });

    it("takes its origin from the Host header and its own plain-HTTP listener, whatever X-Forwarded-* say", async () => {
      const forged = { "x-forwarded-host": "evil.example", "x-forwarded-proto": "https" };
      const login = await postForm(
        t,
        "/ui/login",
        undefined,
        { access_key: t.admin.accessKey, secret_key: t.admin.secretKey },
        forged,
      );
      assert.equal(login.status, 303, login.text);
      const [session] = setCookies(login.headers);
      assert.doesNotMatch(session ?? "", /;\s*secure/i, "served over plain HTTP: not Secure");

      const form = { ...ROUTE_FORM, name: "own", route: "/own" };
      const res = await postForm(t, "/ui/routes", sessionOf(login), form, forged);
      assert.equal(res.status, 303, res.text);
      assert.ok(await t.client.routes.findByName("own"));
    });
  });

  describe("the settings page behind a TLS-terminating proxy", () => {
    const page = { host: "gw.example", origin: "https://gw.example" };
    const signInForm = (t: TestGateway) => ({
      access_key: t.admin.accessKey,
      secret_key: t.admin.secretKey,
    });

    /** Runs `body` against a gateway (no router, no agent) behind a proxy of its own. */
    async function behindProxy(
      trustedProxies: string[] | undefined,
      body: (t: TestGateway, proxy: string) => Promise<void>,
    ): Promise<void> {
      const t = await startTestGateway({ router: false, agent: false, trustedProxies });
      const proxy = await tlsProxy(t.apiUrl);
      try {
        await body(t, proxy.url);
      } finally {
        await proxy.close();
        await t.stop();
      }
    }

    it("takes its origin from the proxy's X-Forwarded-Host/Proto only once the proxy is listed in APPGW_TRUSTED_PROXIES, and from no other peer", async () => {
      // Not listed (the default): the proxy is a client like any other, so every post through
      // it names an https origin the page, served over http, is not.
      await behindProxy(undefined, async (t, proxy) => {
        const res = await post(proxy, "/ui/login", signInForm(t), page);
        assert.equal(res.status, 403, res.text);
        assert.deepEqual(setCookies(res.headers), []);
      });

      const { trustedProxies } = apiSettingsFromEnv({ APPGW_TRUSTED_PROXIES: PROXY_ADDRESS });
      await behindProxy(trustedProxies, async (t, proxy) => {
        const login = await post(proxy, "/ui/login", signInForm(t), page);
        assert.equal(login.status, 303, login.text);
        assert.match(setCookies(login.headers)[0] ?? "", /;\s*secure/i);
        const cookie = sessionOf(login);

        const form = { ...ROUTE_FORM, name: "proxied", route: "/proxied" };
        const same = await post(proxy, "/ui/routes", form, { ...page, cookie });
        assert.equal(same.status, 303, same.text);
        assert.ok(await t.client.routes.findByName("proxied"));

        const refused: Record<string, string>[] = [
          // The proxy's scheme is https: a page served over http is another origin.
          { ...page, origin: "http://gw.example" },
          // The proxy replaces what its client forwards: a client cannot name its own site.
          { ...page, ...FORGED },
        ];
        for (const headers of refused) {
          const res = await post(proxy, "/ui/routes", form, { ...headers, cookie });
          assert.equal(res.status, 403, JSON.stringify(headers));
        }
        // What the proxy would say, said by a loopback client that is not the proxy.
        const direct = await post(t.apiUrl, "/ui/routes", form, {
          ...page,
          "x-forwarded-host": page.host,
          "x-forwarded-proto": "https",
          cookie,
        });
        assert.equal(direct.status, 403, direct.text);
      });
    });
  });

  describe("the router, which judges origins by ROUTER_URL's scheme and the Host alone", () => {
    /** The router's listener (its ROUTER_URL may name a proxy's address instead). */
    const listener = (t: TestGateway) => `http://127.0.0.1:${t.gw.router!.port}`;

    /** A path route to a plain upstream; returns what the upstream saw. */
    async function routeTo(t: TestGateway, name: string) {
      const received: string[] = [];
      const app = await startUpstream((req, res) => {
        received.push(`${req.method} ${req.url}`);
        req.resume();
        req.on("end", () => res.end("done"));
      });
      await createRoute(t, { name });
      await attachUpstream(t, name, app.port);
      const bearer = { authorization: `Bearer ${await t.client.token()}` };
      await eventually(
        async () =>
          (await request(`${listener(t)}/${name}/`, { headers: bearer })).statusCode === 200,
        10_000,
        `${name} routed`,
      );
      return { received, close: app.close };
    }

    it("ignores a client's X-Forwarded-Host/Proto on its login page and on posts with its cookie", async () => {
      const t = await startTestGateway({ agent: false });
      const app = await routeTo(t, "notes");
      try {
        const base = listener(t);
        const keys = { access_key: t.admin.accessKey, secret_key: t.admin.secretKey, next: "/" };
        const foreign = await post(base, "/_appgw/login", keys, FORGED);
        assert.equal(foreign.status, 403, foreign.text);
        assert.equal(errorCode(foreign), "APPGW_FORBIDDEN");
        const own = await post(base, "/_appgw/login", keys, { ...FORGED, origin: base });
        assert.equal(own.status, 303, own.text);

        const cookie = `appgw_token=${await t.client.token()}`;
        const refused = await post(base, "/notes/forged", {}, { ...FORGED, cookie });
        assert.equal(refused.status, 403, refused.text);
        assert.ok(!app.received.includes("POST /forged"), "the app received the forged post");
        const passed = await post(base, "/notes/own", {}, { ...FORGED, origin: base, cookie });
        assert.equal(passed.status, 200, passed.text);
        assert.ok(app.received.includes("POST /own"));
      } finally {
        await app.close();
        await t.stop();
      }
    });

    it("behind a TLS proxy the API trusts, takes posts from ROUTER_URL's https origin and refuses plain http", async () => {
      const t = await startTestGateway({
        agent: false,
        router: { ROUTER_URL: "https://router.example" },
        trustedProxies: [PROXY_ADDRESS],
      });
      const app = await routeTo(t, "notes");
      const proxy = await tlsProxy(listener(t));
      try {
        const site = { host: "router.example", origin: "https://router.example" };
        const keys = { access_key: t.admin.accessKey, secret_key: t.admin.secretKey, next: "/" };
        const login = await post(proxy.url, "/_appgw/login", keys, site);
        assert.equal(login.status, 303, login.text);
        const cookie = setCookies(login.headers)[0]?.split(";")[0] ?? "";
        assert.match(cookie, /^appgw_token=./);

        const passed = await post(proxy.url, "/notes/proxied", {}, { ...site, cookie });
        assert.equal(passed.status, 200, passed.text);
        assert.ok(app.received.includes("POST /proxied"));
        const plain = { ...site, origin: "http://router.example", cookie };
        const refused = await post(proxy.url, "/notes/plain", {}, plain);
        assert.equal(refused.status, 403, refused.text);
        // Nor can a client that reaches the router past the proxy make that origin its own.
        const forwarded = { "x-forwarded-proto": "http", "x-forwarded-host": "router.example" };
        const around = await post(listener(t), "/notes/plain", {}, { ...plain, ...forwarded });
        assert.equal(around.status, 403, around.text);
        assert.ok(!app.received.includes("POST /plain"));
      } finally {
        await proxy.close();
        await app.close();
        await t.stop();
      }
    });
  });
});
