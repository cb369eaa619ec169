// Path traversal and host spoofing through a real router. Requests go out as raw bytes on a
// socket, so nothing on the client side normalises them. The set-up: a PUBLIC route `/llm`, an
// AUTHENTICATED route `/admin-route` and a public subdomain route `llm.<domain>`, each with its own
// echo app; no request below carries a token, so reaching the admin-route app would be an escape.
import assert from "node:assert/strict";
import {
  createRoute,
  rawHead,
  rawRequest,
  routerPort,
  startDataplaneGateway,
  startEchoApp,
  waitRouted,
  type RawReply,
} from "../helpers/dataplane";
import type { TestGateway } from "../helpers/gateway";

type Outcome =
  /** Refused by the router's path check. */
  | { bad: true }
  /** Routed to the public `/llm` app, which sees exactly this path. */
  | { llm: string }
  /** Resolved to `/admin-route` and refused there for want of a token. */
  | { auth: true }
  | { noRoute: true };

describe("security: path traversal and host spoofing", () => {
  let t: TestGateway;
  let port: number;
  const tasks: Record<"llm" | "admin" | "sub", string> = { llm: "", admin: "", sub: "" };

  before(async () => {
    t = await startDataplaneGateway();
    port = routerPort(t);
    await createRoute(t, { name: "llm", path: "/llm", public: true });
    await createRoute(t, { name: "admin-route", path: "/admin-route" });
    await createRoute(t, { name: "llm-sub", subdomain: "llm", public: true });
    tasks.llm = await startEchoApp(t, "llm");
    tasks.admin = await startEchoApp(t, "admin-route");
    tasks.sub = await startEchoApp(t, "llm-sub");
    const token = await t.client.token();
    await waitRouted(t, "/llm/", { task: tasks.llm });
    await waitRouted(t, "/admin-route/", {
      task: tasks.admin,
      headers: { authorization: `Bearer ${token}` },
    });
    await waitRouted(t, "/", { task: tasks.sub, headers: { host: `llm.localhost:${port}` } });
  });
  after(() => t.stop());

  function get(target: string, headerLines: string[] = [`Host: 127.0.0.1:${port}`]) {
    return rawRequest(
      port,
      `GET ${target} HTTP/1.1\r\n${headerLines.map((l) => `${l}\r\n`).join("")}Connection: close\r\n\r\n`,
    );
  }

  function parsed(reply: RawReply): {
    code?: string;
    task?: string;
    url?: string;
    service?: string;
  } {
    try {
      const body = JSON.parse(reply.body) as {
        error?: { code?: string };
        task?: string;
        url?: string;
        service?: string;
      };
      return { code: body.error?.code, task: body.task, url: body.url, service: body.service };
    } catch {
      return {};
    }
  }

  /** The one property every answer must have: the admin-route app is never reached. */
  function assertNoEscape(target: string, reply: RawReply) {
    const body = parsed(reply);
    assert.notEqual(body.task, tasks.admin, `${target} reached the admin-route app: ${reply.raw}`);
    assert.ok(!reply.body.includes(tasks.admin), `${target}: ${reply.raw}`);
  }

  const cases: [string, Outcome][] = [
    // `..` in every spelling: resolved before routing, so the request names /admin-route.
    ["/llm/../admin-route/x", { auth: true }],
    ["/llm/%2e%2e/admin-route/x", { auth: true }],
    ["/llm/%2E%2E/admin-route/x", { auth: true }],
    ["/llm/.%2e/admin-route/x", { auth: true }],
    ["/llm/%2e./admin-route/x", { auth: true }],
    ["/llm/./../admin-route", { auth: true }],
    // Separators hidden from the router: refused outright.
    ["/llm%2fadmin-route", { bad: true }],
    ["/llm%2Fadmin-route/x", { bad: true }],
    ["/llm/..%2fadmin-route/x", { bad: true }],
    ["/llm/..%2Fadmin-route/x", { bad: true }],
    ["/llm/%2e%2e%2fadmin-route/x", { bad: true }],
    ["/llm/..%5cadmin-route/x", { bad: true }],
    ["/llm/..%5Cadmin-route/x", { bad: true }],
    ["/llm\\..\\admin-route\\x", { bad: true }],
    ["/llm/..\\admin-route/x", { bad: true }],
    // Tomcat-style path parameters on dot segments.
    ["/llm/..;/admin-route/x", { bad: true }],
    ["/llm/%2e%2e%3b/admin-route/x", { bad: true }],
    ["/llm/%2e%2e;/admin-route/x", { bad: true }],
    ["/llm/..;x=1/admin-route/x", { bad: true }],
    ["/llm/.;/admin-route/x", { bad: true }],
    // Above the root, NUL, malformed escapes.
    ["/../admin-route/x", { bad: true }],
    ["/llm/../../admin-route/x", { bad: true }],
    ["/llm/%00/x", { bad: true }],
    ["/llm/%zz/x", { bad: true }],
    // Absolute-form and other non-origin forms.
    ["http://evil/llm", { bad: true }],
    ["http://127.0.0.1:{port}/admin-route/x", { bad: true }],
    ["*", { bad: true }],
    // Harmless spellings of /llm: routed to /llm, and the app sees the normalised path.
    ["//llm", { llm: "/" }],
    ["//llm//v1//x", { llm: "/v1/x" }],
    ["/llm/./v1/x", { llm: "/v1/x" }],
    ["/llm/v1/../x", { llm: "/x" }],
    ["/llm/v1/%2e%2e/x?q=1", { llm: "/x?q=1" }],
    ["/%6c%6c%6d/x", { llm: "/x" }],
    ["/admin-route/../llm/x", { llm: "/x" }],
    ["/admin-route/%2e%2e/llm/x", { llm: "/x" }],
    // Not /llm at all.
    ["/llm?x=/../admin-route/x", { llm: "/?x=/../admin-route/x" }],
    ["/llm#/../admin-route/x", { bad: true }],
    ["/llmadmin-route", { noRoute: true }],
    ["/LLM/x", { noRoute: true }],
  ];

  for (const [rawTarget, outcome] of cases) {
    it(`never escapes into another route's app: GET ${JSON.stringify(rawTarget)} -> ${Object.keys(outcome)[0]}`, async () => {
      const target = rawTarget.replace("{port}", String(port));
      const reply = await get(target);
      assertNoEscape(target, reply);
      const body = parsed(reply);
      if ("bad" in outcome) {
        assert.equal(reply.status, 400, reply.raw);
        assert.equal(body.code, "APPGW_BAD_PATH", reply.raw);
      } else if ("auth" in outcome) {
        assert.equal(reply.status, 401, reply.raw);
        assert.equal(body.code, "APPGW_UNAUTHORIZED", reply.raw);
      } else if ("noRoute" in outcome) {
        assert.equal(reply.status, 404, reply.raw);
        assert.equal(body.code, "APPGW_NO_ROUTE", reply.raw);
      } else {
        assert.equal(reply.status, 200, reply.raw);
        assert.equal(body.task, tasks.llm, reply.raw);
        assert.equal(body.url, outcome.llm);
      }
    });
  }

  it("a WebSocket handshake cannot traverse into another route either", async () => {
    const handshake = (target: string) =>
      rawHead(
        port,
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\n` +
          "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      );
    for (const [target, status] of [
      ["/llm/../admin-route/ws", 401],
      ["/llm/%2e%2e/admin-route/ws", 401],
      ["/llm/..%2fadmin-route/ws", 400],
      ["/llm/..;/admin-route/ws", 400],
      ["/llm\\..\\admin-route\\ws", 400],
      ["http://evil/admin-route/ws", 400],
    ] as const) {
      const reply = await handshake(target);
      assert.equal(reply.status, status, `${target}: ${reply.head}`);
    }
    // The same handshake without traversal reaches /llm's app, and the traversal that resolves
    // back into /llm reaches it with the normalised path.
    for (const target of ["/llm/ws", "/admin-route/../llm/ws"]) {
      const ok = await handshake(target);
      assert.equal(ok.status, 101, ok.head);
      assert.ok(ok.rest.includes(tasks.llm) || ok.rest === "", ok.rest);
    }
  });

  describe("host spoofing", () => {
    const host = () => `llm.localhost:${port}`;

    it("routes a subdomain route on Host only, never on X-Forwarded-Host or Forwarded", async () => {
      for (const lines of [
        ["Host: evil.com", `X-Forwarded-Host: ${host()}`],
        ["Host: evil.com", `Forwarded: host=${host()}`],
        ["Host: evil.com", `X-Forwarded-Host: ${host()}`, `X-Original-Host: ${host()}`],
        [`Host: 127.0.0.1:${port}`, `X-Forwarded-Host: ${host()}`, `X-Host: ${host()}`],
      ]) {
        const reply = await get("/v1/models", lines);
        assertNoEscape(lines.join(" "), reply);
        assert.notEqual(parsed(reply).task, tasks.sub, `${lines.join(" | ")}: ${reply.raw}`);
        assert.equal(reply.status, 404, reply.raw);
      }
      // The real Host routes, whatever X-Forwarded-Host says.
      const real = await get("/v1/models", [`Host: ${host()}`, "X-Forwarded-Host: evil.com"]);
      assert.equal(parsed(real).task, tasks.sub, real.raw);
    });

    it("does not take the host from an absolute-form request line", async () => {
      const reply = await get(`http://${host()}/v1/models`, ["Host: evil.com"]);
      assert.equal(reply.status, 400, reply.raw);
      assert.equal(parsed(reply).code, "APPGW_BAD_PATH");
    });

    it("does not match look-alike hosts", async () => {
      for (const h of [
        `llm.localhost.evil.com:${port}`,
        `evil-llm.localhost:${port}`,
        `evil.com@llm.localhost:${port}`,
        `llm.localhost@evil.com:${port}`,
        `llm%2elocalhost:${port}`,
      ]) {
        const reply = await get("/v1/models", [`Host: ${h}`]);
        assert.notEqual(parsed(reply).task, tasks.sub, `Host ${h}: ${reply.raw}`);
      }
    });

    it("routes a request with two Host headers on the first only, and forwards only that one", async () => {
      const spoofed = await get("/v1/models", ["Host: evil.com", `Host: ${host()}`]);
      assert.notEqual(parsed(spoofed).task, tasks.sub, spoofed.raw);
      const real = await get("/v1/models", [`Host: ${host()}`, "Host: evil.com"]);
      if (real.status === 200) {
        const echo = JSON.parse(real.body) as { task: string; headers: { host: string } };
        assert.equal(echo.task, tasks.sub);
        assert.equal(echo.headers.host, host());
      } else {
        assert.equal(real.status, 400, real.raw);
      }
    });
  });
});
