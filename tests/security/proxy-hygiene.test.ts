// Header hygiene between clients and apps, through a real router: the gateway's credentials never
// reach an app, forwarding and identity headers are the router's own, and an app cannot plant
// the gateway's cookie or leak hop-by-hop headers to clients.
import assert from "node:assert/strict";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { SignJWT, generateKeyPair } from "jose";
import { WebSocketServer } from "ws";
import {
  attachUpstream,
  createRoute,
  rawRequest,
  routerPort,
  send,
  setCookies,
  startDataplaneGateway,
  startUpstream,
  WsProbe,
  routerBase,
} from "../helpers/dataplane";
import { eventually, type TestGateway } from "../helpers/gateway";

/** What the raw-headers app saw: every header line exactly as it arrived, duplicates included. */
interface Seen {
  url: string;
  raw: [string, string][];
}

function pairs(rawHeaders: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) out.push([rawHeaders[i]!, rawHeaders[i + 1]!]);
  return out;
}

/** Every value of header `name` (any case) in what the app saw. */
function values(seen: Seen, name: string): string[] {
  return seen.raw.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
}

describe("security: proxy header hygiene", () => {
  let t: TestGateway;
  let token: string;
  let port: number;
  const closers: (() => Promise<void> | void)[] = [];

  before(async () => {
    t = await startDataplaneGateway();
    token = await t.client.token();
    port = routerPort(t);

    // One app reporting raw request headers behind a public and an authenticated route.
    const app = await startUpstream((req, res) => {
      req.resume();
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ url: req.url ?? "", raw: pairs(req.rawHeaders) } satisfies Seen));
      });
    });
    const wss = new WebSocketServer({ server: app.server });
    wss.on("headers", (headers, req) => {
      if (req.url?.includes("plant-cookie")) {
        headers.push("Set-Cookie: appgw_token=planted; Path=/", "Set-Cookie: app_ws=1; Path=/");
      }
    });
    wss.on("connection", (ws, req) => ws.send(JSON.stringify(pairs(req.rawHeaders))));
    closers.push(
      () => wss.close(),
      () => app.close(),
    );
    await createRoute(t, { name: "pub", path: "/pub", public: true });
    await createRoute(t, { name: "auth", path: "/auth" });
    await attachUpstream(t, "pub", app.port);
    // A second task cannot share a single-endpoint route; a second address can share the app.
    await attachUpstream(t, "auth", app.port);

    // A raw app that answers with headers no proxy may pass on, then closes the connection.
    const bad = net.createServer((socket) => {
      let head = "";
      socket.on("data", (chunk: Buffer) => {
        head += chunk.toString("latin1");
        if (!head.includes("\r\n\r\n")) return;
        const body = "ok";
        socket.end(
          "HTTP/1.1 200 OK\r\n" +
            "Content-Type: text/plain\r\n" +
            `Content-Length: ${body.length}\r\n` +
            "Connection: close, X-Hop-Secret\r\n" +
            "X-Hop-Secret: s3cret\r\n" +
            "Keep-Alive: timeout=7, max=77\r\n" +
            "Proxy-Authenticate: Basic realm=upstream\r\n" +
            "Proxy-Connection: keep-alive\r\n" +
            "Trailer: X-Checksum\r\n" +
            "TE: trailers\r\n" +
            "Upgrade: h2c\r\n" +
            "Set-Cookie: appgw_token=planted-by-app; Path=/; HttpOnly\r\n" +
            "Set-Cookie: appgw_aff_deadbeef=forged.sig; Path=/\r\n" +
            "Set-Cookie: app_session=kept; Path=/bad\r\n" +
            "X-Kept: yes\r\n" +
            "\r\n" +
            body,
          "latin1",
        );
      });
      socket.on("error", () => socket.destroy());
    });
    await new Promise<void>((r) => bad.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise<void>((r) => bad.close(() => r())));
    await createRoute(t, { name: "bad", path: "/bad", public: true });
    await attachUpstream(t, "bad", (bad.address() as AddressInfo).port);

    await eventually(async () => (await send(t, "/pub/")).status === 200, 5000, "/pub routed");
    await eventually(
      async () =>
        (await send(t, "/auth/", { headers: { authorization: `Bearer ${token}` } })).status === 200,
      5000,
      "/auth routed",
    );
    await eventually(async () => (await send(t, "/bad/")).status === 200, 5000, "/bad routed");
  });
  after(async () => {
    for (const close of closers) await close();
    await t.stop();
  });

  /** A raw GET through the router, so nothing on the client side merges or drops headers. */
  function rawGet(path: string, headerLines: string[]) {
    return rawRequest(
      port,
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        headerLines.map((l) => `${l}\r\n`).join("") +
        "Connection: close\r\n\r\n",
    );
  }

  /** What the app saw of a raw GET. */
  async function seen(path: string, headerLines: string[]): Promise<Seen> {
    const reply = await rawGet(path, headerLines);
    assert.equal(reply.status, 200, reply.raw);
    return JSON.parse(reply.body) as Seen;
  }

  describe("credentials", () => {
    it("never passes the gateway's auth cookie to the app, but passes the app's own cookies", async () => {
      const tokenCookie = `appgw_token=${token}`;
      const cases: [string, string[], string[]][] = [
        // path, Cookie lines sent, Cookie lines the app must see
        ["/auth/x", [`theme=dark; ${tokenCookie}; session=abc`], ["theme=dark; session=abc"]],
        ["/auth/x", [tokenCookie], []],
        ["/pub/x", [`${tokenCookie}; a=1`], ["a=1"]],
        ["/pub/x", ["a=1", tokenCookie], ["a=1"]],
        ["/pub/x", [`a=1;${tokenCookie};b=2`, "appgw_aff_12345678=x.y; c=3"], ["a=1; b=2", "c=3"]],
      ];
      for (const [path, sent, expected] of cases) {
        const got = await seen(
          path,
          sent.map((c) => `Cookie: ${c}`),
        );
        assert.deepEqual(values(got, "cookie"), expected, `${path} ${sent.join(" | ")}`);
        assert.ok(!JSON.stringify(got).includes(token), "the token reached the app");
      }
    });

    it("does not forward a gateway Bearer token, valid or not, to the app", async () => {
      const expired = await t.gw.api.tokens.sign({ sub: "someone", name: "x" }, -120);
      for (const [path, value] of [
        ["/auth/x", `Bearer ${token}`],
        ["/auth/x", `bearer ${token}`],
        ["/pub/x", `Bearer ${token}`],
        ["/pub/x", `Bearer ${expired}`],
      ] as const) {
        const got = await seen(path, [`Authorization: ${value}`]);
        assert.deepEqual(values(got, "authorization"), [], `${path} ${value.slice(0, 12)}`);
      }
      // Authenticated by the cookie, with the gateway token also in the header.
      const both = await seen("/auth/x", [
        `Authorization: Bearer ${token}`,
        `Cookie: appgw_token=${token}`,
      ]);
      assert.ok(!JSON.stringify(both).includes(token));
    });

    it("forwards a Bearer value that is not a gateway token (an app's own key) unchanged", async () => {
      const { privateKey } = await generateKeyPair("ES256");
      const foreignJwt = await new SignJWT({ scope: "app" })
        .setProtectedHeader({ alg: "ES256" })
        .setIssuer("https://idp.example")
        .setExpirationTime("10m")
        .sign(privateKey);
      for (const value of [
        "Bearer sk-app-0123456789",
        `Bearer ${foreignJwt}`,
        "Basic dXNlcjpwdw==",
      ]) {
        const got = await seen("/pub/x", [`Authorization: ${value}`]);
        assert.deepEqual(values(got, "authorization"), [value]);
      }
      // On an authenticated route reached with the cookie, the app's key still goes through.
      const got = await seen("/auth/x", [
        "Authorization: Bearer sk-app-0123456789",
        `Cookie: appgw_token=${token}`,
      ]);
      assert.deepEqual(values(got, "authorization"), ["Bearer sk-app-0123456789"]);
    });

    // Regression: the auth check saw only the first of two Authorization headers (Node keeps the
    // first) while every line was forwarded, so a gateway token in the second reached the app.
    // Authorization is single-valued: two of them are refused before anything is forwarded.
    it("refuses two Authorization headers, so a gateway token cannot ride along in the second", async () => {
      for (const path of ["/pub/x", "/auth/x"]) {
        const lines = [`Authorization: Bearer sk-app-0123456789`, `Authorization: Bearer ${token}`];
        if (path === "/auth/x") lines.push(`Cookie: appgw_token=${token}`);
        const reply = await rawGet(path, lines);
        assert.equal(reply.status, 400, reply.raw);
        assert.equal(JSON.parse(reply.body).error.code, "APPGW_BAD_HEADER");
        assert.ok(!reply.body.includes(token), "nothing of the app's answer came back");
      }
    });

    it("strips the auth cookie and a gateway Bearer token from WebSocket handshakes", async () => {
      const ws = await WsProbe.open(`${routerBase(t).replace(/^http/, "ws")}/auth/socket`, {
        headers: { cookie: `appgw_token=${token}; theme=dark`, authorization: `Bearer ${token}` },
      });
      try {
        const raw = JSON.parse((await ws.message(0)).data.toString()) as [string, string][];
        const got: Seen = { url: "", raw };
        assert.deepEqual(values(got, "cookie"), ["theme=dark"]);
        assert.deepEqual(values(got, "authorization"), []);
        assert.deepEqual(values(got, "x-appgw-user"), ["admin"]);
        assert.ok(!JSON.stringify(raw).includes(token));
      } finally {
        ws.close();
      }
    });

    it("drops an app's Set-Cookie for the gateway's cookie from the WebSocket 101", async () => {
      const ws = await WsProbe.open(`${routerBase(t).replace(/^http/, "ws")}/pub/plant-cookie`);
      ws.close();
      const cookies = setCookies(ws.upgradeHeaders);
      assert.deepEqual(cookies, ["app_ws=1; Path=/"], JSON.stringify(ws.upgradeHeaders));
    });
  });

  describe("forwarding and identity headers", () => {
    const forged = [
      "X-Forwarded-For: 6.6.6.6",
      "X-Forwarded-Host: evil.example",
      "X-Forwarded-Proto: https",
      "X-Forwarded-Prefix: /evil",
      "X-Forwarded-Port: 443",
      "Forwarded: for=6.6.6.6;host=evil.example;proto=https",
      "X-Real-IP: 6.6.6.6",
      "X-Appgw-User: root",
      "X-Appgw-User-Id: root-id",
    ];

    function assertOwn(got: Seen, prefix: string, user: string | null) {
      const host = `127.0.0.1:${port}`;
      assert.deepEqual(values(got, "x-forwarded-for").length, 1);
      assert.match(values(got, "x-forwarded-for")[0]!, /^(::ffff:)?127\.0\.0\.1$/);
      assert.deepEqual(values(got, "x-forwarded-host"), [host]);
      assert.deepEqual(values(got, "x-forwarded-proto"), ["http"]);
      assert.deepEqual(values(got, "x-forwarded-prefix"), [prefix]);
      assert.deepEqual(values(got, "x-forwarded-port"), []);
      assert.deepEqual(values(got, "forwarded"), []);
      assert.deepEqual(values(got, "x-real-ip"), []);
      assert.deepEqual(values(got, "x-appgw-user"), user === null ? [] : [user]);
      assert.ok(!JSON.stringify(got).includes("6.6.6.6"));
      assert.ok(!JSON.stringify(got).includes("evil"));
      assert.ok(!JSON.stringify(got).includes("root"));
    }

    it("replaces client-sent X-Forwarded-*, Forwarded, X-Real-IP and X-Appgw-User headers", async () => {
      assertOwn(await seen("/pub/x", forged), "/pub", null);
      assertOwn(
        await seen("/auth/x", [...forged, `Authorization: Bearer ${token}`]),
        "/auth",
        "admin",
      );
      // Different spellings and repeated lines are caught too.
      assertOwn(
        await seen("/pub/x", [
          "x-forwarded-for: 6.6.6.6",
          "X-FORWARDED-FOR: 6.6.6.6",
          "x-appgw-user: root",
        ]),
        "/pub",
        null,
      );
    });

    it("cannot be made to drop its own headers by a client naming them in Connection (CVE-2024-45410)", async () => {
      const connection =
        "Connection: X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-Prefix, X-Appgw-User, X-Appgw-User-Id";
      for (const [path, extra, user] of [
        ["/pub/x", [], null],
        ["/auth/x", [`Authorization: Bearer ${token}`], "admin"],
      ] as const) {
        const got = await seen(path, [connection, ...forged, ...extra]);
        assertOwn(got, path.slice(0, path.indexOf("/", 1)), user);
        assert.equal(values(got, "x-appgw-user-id").length, user === null ? 0 : 1);
      }
    });
  });

  describe("hop-by-hop request headers", () => {
    it("does not pass the client's hop-by-hop headers, or the headers it names in Connection, to the app", async () => {
      const got = await seen("/pub/x", [
        "Connection: X-Hop-Secret",
        "X-Hop-Secret: s3cret",
        "Keep-Alive: timeout=99",
        "Proxy-Authorization: Basic cHJveHk6c2VjcmV0",
        "Proxy-Connection: keep-alive",
        "TE: trailers",
        "Upgrade: h2c",
        "X-Kept: yes",
      ]);
      for (const name of [
        "x-hop-secret",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "upgrade",
      ]) {
        assert.deepEqual(values(got, name), [], `${name} reached the app`);
      }
      assert.deepEqual(values(got, "x-kept"), ["yes"]);
      assert.ok(!values(got, "connection").some((v) => /hop|upgrade/i.test(v)));
    });
  });

  describe("responses", () => {
    it("drops an app's Set-Cookie for the gateway's cookies, keeping the app's own", async () => {
      const reply = await send(t, "/bad/x");
      assert.equal(reply.status, 200);
      assert.equal(reply.text, "ok");
      assert.deepEqual(setCookies(reply.headers), ["app_session=kept; Path=/bad"]);
    });

    it("does not pass hop-by-hop headers of the app's response to the client", async () => {
      const reply = await rawRequest(
        port,
        `GET /bad/x HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(reply.status, 200, reply.raw);
      assert.equal(reply.body, "ok");
      assert.equal(reply.headers["x-kept"], "yes");
      for (const name of [
        "x-hop-secret",
        "proxy-authenticate",
        "proxy-connection",
        "trailer",
        "te",
        "upgrade",
      ]) {
        assert.equal(reply.headers[name], undefined, `${name} passed: ${reply.raw}`);
      }
      assert.notEqual(reply.headers["keep-alive"], "timeout=7, max=77");
      assert.ok(!/x-hop-secret/i.test(reply.headers.connection ?? ""), reply.raw);
    });
  });
});
