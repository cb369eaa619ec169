// Failed logins are limited per access key and client address, and per address, at both doors:
// the control API's `auth.login` and the router's login page. Clients come from distinct
// loopback addresses (127.0.0.2, 127.0.0.3...), which Linux routes to the listening 127.0.0.1.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Agent, request } from "undici";
import pino from "pino";
import { apiSettingsFromEnv, buildApp } from "@appgw/gateway";
import { routerConfigFromEnv, startRouter, type RunningRouter } from "../../gateway/router";
import { routerBase } from "../helpers/dataplane";
import {
  basicAuth,
  rawCall,
  rejection,
  startTestGateway,
  type TestGateway,
} from "../helpers/gateway";

const from = (address: string) => new Agent({ localAddress: address });

interface Keys {
  accessKey: string;
  secretKey: string;
}

/** `auth.login` from `address` (an Agent bound to it), with extra headers. */
async function apiLogin(
  apiUrl: string,
  keys: Keys,
  address: Agent,
  headers: Record<string, string> = {},
) {
  const res = await request(`${apiUrl}/auth.login`, {
    method: "POST",
    dispatcher: address,
    headers: {
      "content-type": "application/json",
      ...basicAuth(keys.accessKey, keys.secretKey),
      ...headers,
    },
    body: "{}",
  });
  return { status: res.statusCode, headers: res.headers, json: (await res.body.json()) as any };
}

const wrong = (keys: Keys): Keys => ({ ...keys, secretKey: "wrong-secret-0123456789" });
const expOf = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()).exp as number;

describe("security: login attempts are limited", () => {
  let t: TestGateway;
  const addUser = async (name: string): Promise<Keys> => {
    const { credentials } = await t.client.addUser({ name });
    return { accessKey: credentials.access_key, secretKey: credentials.secret_key };
  };

  before(async () => {
    t = await startTestGateway({ agent: false });
  });
  after(() => t.stop());

  describe("auth.login", () => {
    it("answers the 11th failure of a key from one address 429 with Retry-After, even with the right secret", async () => {
      const alice = await addUser("alice");
      const attacker = from("127.0.0.2");
      for (let i = 0; i < 10; i++) {
        assert.equal((await apiLogin(t.apiUrl, wrong(alice), attacker)).status, 401, `try ${i}`);
      }
      const blocked = await apiLogin(t.apiUrl, alice, attacker);
      assert.equal(blocked.status, 429);
      assert.equal(blocked.json.meta.result_code, 429);
      assert.equal(blocked.json.meta.error_data.code, "APPGW_TOO_MANY_REQUESTS");
      assert.equal(blocked.json.meta.error_data.field, "authorization");
      assert.deepEqual(blocked.json.data, {});
      const retryAfter = Number(blocked.headers["retry-after"]);
      assert.ok(retryAfter > 850 && retryAfter <= 900, `Retry-After ${retryAfter}`);
      assert.equal(blocked.json.meta.error_data.retry_after, retryAfter);
    });

    it("does not let an attacker lock the key's owner out: other addresses still log in", async () => {
      const bob = await addUser("bob");
      const attacker = from("127.0.0.3");
      for (let i = 0; i < 11; i++) await apiLogin(t.apiUrl, wrong(bob), attacker);
      assert.equal((await apiLogin(t.apiUrl, bob, attacker)).status, 429);
      assert.equal((await apiLogin(t.apiUrl, bob, from("127.0.0.4"))).status, 200);
      // ...and the attacker's address may still log in with its own keys.
      const carol = await addUser("carol");
      assert.equal((await apiLogin(t.apiUrl, carol, attacker)).status, 200);
    });

    it("forgets a key's failures from an address once it logs in there", async () => {
      const dave = await addUser("dave");
      const address = from("127.0.0.5");
      for (let i = 0; i < 9; i++) await apiLogin(t.apiUrl, wrong(dave), address);
      assert.equal((await apiLogin(t.apiUrl, dave, address)).status, 200);
      for (let i = 0; i < 10; i++) {
        assert.equal((await apiLogin(t.apiUrl, wrong(dave), address)).status, 401, `try ${i}`);
      }
      assert.equal((await apiLogin(t.apiUrl, dave, address)).status, 429);
    });

    it("answers 429 to an address after 50 failures, whatever the keys", async () => {
      const erin = await addUser("erin");
      const sprayer = from("127.0.0.6");
      for (let i = 0; i < 50; i++) {
        const guess = { accessKey: `GUESS${i}`, secretKey: "whatever-0123456789" };
        assert.equal((await apiLogin(t.apiUrl, guess, sprayer)).status, 401, `try ${i}`);
      }
      assert.equal((await apiLogin(t.apiUrl, erin, sprayer)).status, 429);
      assert.equal((await apiLogin(t.apiUrl, erin, from("127.0.0.7"))).status, 200);
    });

    it("believes X-Forwarded-For from no peer by default, loopback included", async () => {
      // Any local process (a task an agent runs on this host, say) can send the header: naming
      // a new client with each guess must not give it a new count.
      const frank = await addUser("frank");
      const local = from("127.0.0.8");
      for (let i = 0; i < 10; i++) {
        const forged = { "x-forwarded-for": `198.51.100.${i + 1}` };
        const res = await apiLogin(t.apiUrl, wrong(frank), local, forged);
        assert.equal(res.status, 401, `try ${i}`);
      }
      const fresh = { "x-forwarded-for": "198.51.100.99" };
      assert.equal((await apiLogin(t.apiUrl, frank, local, fresh)).status, 429);
    });

    it("counts the clients a proxy listed in APPGW_TRUSTED_PROXIES names, and no other peer's", async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "appgw-proxies-"));
      const settings = apiSettingsFromEnv({ APPGW_TRUSTED_PROXIES: "127.0.0.13" });
      const api = await buildApp({ dataDir, ...settings });
      try {
        const url = await api.app.listen({ port: 0, host: "127.0.0.1" });
        const keys = { accessKey: "SOMEKEY", secretKey: "some-secret-0123456789" };
        const proxy = from("127.0.0.13");
        const client = (n: number) => ({ "x-forwarded-for": `198.51.100.${n}` });
        for (let i = 0; i < 10; i++) await apiLogin(url, wrong(keys), proxy, client(1));
        assert.equal((await apiLogin(url, wrong(keys), proxy, client(1))).status, 429);
        // Another client behind the same proxy has a count of its own.
        assert.equal((await apiLogin(url, wrong(keys), proxy, client(2))).status, 401);

        // A peer it does not list cannot pass for a new client with each guess.
        const other = from("127.0.0.14");
        for (let i = 0; i < 10; i++) await apiLogin(url, wrong(keys), other, client(10 + i));
        assert.equal((await apiLogin(url, wrong(keys), other, client(99))).status, 429);
      } finally {
        await api.app.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });

  describe("the router's login page", () => {
    async function pageLogin(keys: Keys, address: Agent, router = routerBase(t)) {
      const res = await request(`${router}/_appgw/login`, {
        method: "POST",
        dispatcher: address,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          access_key: keys.accessKey,
          secret_key: keys.secretKey,
          next: "/",
        }).toString(),
      });
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
    }

    it("answers the 11th failed sign-in from a browser 429 with a plain message and Retry-After", async () => {
      const grace = await addUser("grace");
      const browser = from("127.0.0.9");
      for (let i = 0; i < 10; i++) {
        assert.equal((await pageLogin(wrong(grace), browser)).status, 401, `try ${i}`);
      }
      const blocked = await pageLogin(grace, browser);
      assert.equal(blocked.status, 429);
      assert.match(String(blocked.headers["content-type"]), /text\/html/);
      assert.match(blocked.text, /Too many failed sign-ins\. Try again in 15 minutes\./);
      assert.match(blocked.text, /<form method="post" action="\/_appgw\/login">/);
      const retryAfter = Number(blocked.headers["retry-after"]);
      assert.ok(retryAfter > 850 && retryAfter <= 900, `Retry-After ${retryAfter}`);
      assert.equal(blocked.headers["set-cookie"], undefined);
    });

    it("counts each browser at the control API, not the router: others still sign in", async () => {
      const heidi = await addUser("heidi");
      for (let i = 0; i < 11; i++) await pageLogin(wrong(heidi), from("127.0.0.10"));
      // Another browser through the same router, and the SDK from elsewhere, are not locked out.
      assert.equal((await pageLogin(heidi, from("127.0.0.11"))).status, 303);
      assert.equal((await apiLogin(t.apiUrl, heidi, from("127.0.0.12"))).status, 200);
    });

    it("counts each browser at the control API when APPGW_TRUSTED_PROXIES lists only a proxy in front of the API", async () => {
      // The embedded router is not listed, and need not be: it calls the API in-process.
      const api = await startTestGateway({ agent: false, trustedProxies: ["127.0.0.2"] });
      try {
        const { credentials } = await api.client.addUser({ name: "judy" });
        const keys = { accessKey: credentials.access_key, secretKey: credentials.secret_key };
        const base = routerBase(api);
        for (let i = 0; i < 11; i++) await pageLogin(wrong(keys), from("127.0.0.17"), base);
        assert.equal((await pageLogin(keys, from("127.0.0.17"), base)).status, 429);
        assert.equal((await pageLogin(keys, from("127.0.0.18"), base)).status, 303);
      } finally {
        await api.stop();
      }
    });

    it("counts each browser at the control API through a router running apart that is in APPGW_TRUSTED_PROXIES", async () => {
      // The router calls the API from 127.0.0.1 and names the browser in X-Forwarded-For.
      const api = await startTestGateway({
        router: false,
        agent: false,
        trustedProxies: ["127.0.0.1"],
      });
      let router: RunningRouter | undefined;
      try {
        const { credentials } = await api.client.auth.createServiceUser({ name: "router-apart" });
        router = await startRouter(
          routerConfigFromEnv({
            ROUTER_NAME: "router-apart",
            CLEARML_API_HOST: api.apiUrl,
            CLEARML_API_ACCESS_KEY: credentials.access_key,
            CLEARML_API_SECRET_KEY: credentials.secret_key,
            ROUTER_HOST: "127.0.0.1",
            ROUTER__WEBSERVER__SERVER_PORT: "0",
          }),
          { logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }) },
        );
        const base = `http://127.0.0.1:${router.port}`;
        const { credentials: ivan } = await api.client.addUser({ name: "ivan" });
        const keys = { accessKey: ivan.access_key, secretKey: ivan.secret_key };
        for (let i = 0; i < 11; i++) await pageLogin(wrong(keys), from("127.0.0.15"), base);
        assert.equal((await pageLogin(keys, from("127.0.0.15"), base)).status, 429);
        // Had the API counted the router, ivan's key would be locked for every browser.
        assert.equal((await pageLogin(keys, from("127.0.0.16"), base)).status, 303);
      } finally {
        await router?.close();
        await api.stop();
      }
    });
  });

  describe("token lifetime", () => {
    it("caps a token asked for 30 days at the default 12 hours", async () => {
      const res = await rawCall(
        t.apiUrl,
        "auth.login",
        { expiration_sec: 30 * 86400 },
        basicAuth(t.admin.accessKey, t.admin.secretKey),
      );
      const lifetime = expOf(res.json.data.token) - Math.floor(Date.now() / 1000);
      assert.ok(lifetime > 24 * 3600 - 10 && lifetime <= 24 * 3600, `lifetime ${lifetime}`);
    });

    it("takes the cap from APPGW_TOKEN_TTL_SEC, up to 7 days and no more", async () => {
      assert.equal(apiSettingsFromEnv({ APPGW_TOKEN_TTL_SEC: "3600" }).tokenTtlSec, 3600);
      assert.equal(apiSettingsFromEnv({ APPGW_TOKEN_TTL_SEC: "604800" }).tokenTtlSec, 604800);
      for (const bad of ["604801", "2592000", "59", "12h", "-1", "1e5"]) {
        const err = await rejection(async () => apiSettingsFromEnv({ APPGW_TOKEN_TTL_SEC: bad }));
        assert.equal(err.code, "APPGW_INVALID_REQUEST", bad);
        assert.equal(err.field, "APPGW_TOKEN_TTL_SEC", bad);
        assert.match(err.message, new RegExp(`from 60 to 604800, got '${bad}'`), bad);
      }
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "appgw-ttl-"));
      try {
        const err = await rejection(() => buildApp({ dataDir, tokenTtlSec: 8 * 86400 }));
        assert.equal(err.field, "tokenTtlSec");
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
});
