// An app must not set the gateway's cookies in the user's browser, in any form a browser would
// store as one of them: a nameless cookie (`=appgw_token=evil` is stored without a name and sent
// back as `appgw_token=evil`), a name padded with spaces or tabs, or a name with a `__Host-` or
// `__Secure-` prefix. Checked on plain responses and on the WebSocket 101.
import assert from "node:assert/strict";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import {
  attachUpstream,
  createRoute,
  routerBase,
  send,
  setCookies,
  startDataplaneGateway,
  startUpstream,
  WsProbe,
} from "../helpers/dataplane";
import { eventually, type TestGateway } from "../helpers/gateway";

/** `Set-Cookie` values no app may send through the router (its cookie is `appgw_token`). */
const PLANTED = [
  "=appgw_token=evil; Path=/",
  " =appgw_token=evil; Path=/",
  "=appgw_aff_12345678=forged.sig; Path=/",
  "appgw_token; Path=/",
  "=other=1; Path=/",
  "appgw_token \t=evil; Path=/",
  "__Host-appgw_token=evil; Secure; Path=/",
  "__Secure-appgw_token=evil; Secure; Path=/",
  "__host-appgw_aff_12345678=forged.sig; Secure; Path=/",
  // The settings page's session: browsers would send it back to the API on another port.
  "appgw_console=evil; Path=/ui",
  "=appgw_console=evil; Path=/ui",
  "__Host-appgw_console=evil; Secure; Path=/",
];
/** The app's own cookies, which must pass, including one whose value merely looks like ours. */
const KEPT = ["app_session=kept; Path=/", "note=appgw_token=1; Path=/"];

describe("security: an app planting the gateway's cookie", () => {
  let t: TestGateway;
  const closers: (() => Promise<void> | void)[] = [];

  before(async () => {
    t = await startDataplaneGateway();

    // Plain responses: written by hand, so every Set-Cookie line arrives exactly as listed.
    const raw = net.createServer((socket) => {
      let head = "";
      socket.on("data", (chunk: Buffer) => {
        head += chunk.toString("latin1");
        if (!head.includes("\r\n\r\n")) return;
        socket.end(
          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n" +
            [...PLANTED, ...KEPT].map((c) => `Set-Cookie: ${c}\r\n`).join("") +
            "\r\nok",
          "latin1",
        );
      });
      socket.on("error", () => socket.destroy());
    });
    await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise<void>((r) => raw.close(() => r())));
    await createRoute(t, { name: "plain", path: "/plain", public: true });
    await attachUpstream(t, "plain", (raw.address() as AddressInfo).port);

    // WebSocket handshakes: the 101 carries the same lines.
    const app = await startUpstream((_req, res) => res.end("ok"));
    const wss = new WebSocketServer({ server: app.server });
    wss.on("headers", (headers) => {
      for (const c of [...PLANTED, ...KEPT]) headers.push(`Set-Cookie: ${c}`);
    });
    closers.push(
      () => wss.close(),
      () => app.close(),
    );
    await createRoute(t, { name: "ws", path: "/ws", public: true });
    await attachUpstream(t, "ws", app.port);

    await eventually(async () => (await send(t, "/plain/")).status === 200, 5000, "/plain");
    await eventually(async () => (await send(t, "/ws/")).status === 200, 5000, "/ws");
  });
  after(async () => {
    for (const close of closers) await close();
    await t.stop();
  });

  it("drops nameless, padded and prefixed Set-Cookie for the gateway's cookies from a response, keeping the app's own", async () => {
    const reply = await send(t, "/plain/x");
    assert.equal(reply.status, 200);
    assert.deepEqual(setCookies(reply.headers), KEPT);
  });

  it("drops them from the WebSocket 101 too", async () => {
    const ws = await WsProbe.open(`${routerBase(t).replace(/^http/, "ws")}/ws/socket`);
    ws.close();
    assert.deepEqual(setCookies(ws.upgradeHeaders), KEPT);
  });
});
