// Identity and forwarding headers in spellings an app's server folds into the router's own: WSGI
// and CGI servers key `X_Appgw_User` and `X-Appgw-User` alike (`HTTP_X_APPGW_USER`), others fold
// or ignore other punctuation. A client sending such a spelling must not reach the app with it,
// on plain requests and WebSocket handshakes alike.
import assert from "node:assert/strict";
import { WebSocketServer } from "ws";
import {
  attachUpstream,
  createRoute,
  rawRequest,
  routerBase,
  routerPort,
  send,
  startDataplaneGateway,
  startUpstream,
  WsProbe,
} from "../helpers/dataplane";
import { eventually, userClient, type TestGateway } from "../helpers/gateway";

type Pairs = [string, string][];

function pairs(rawHeaders: string[]): Pairs {
  const out: Pairs = [];
  for (let i = 0; i < rawHeaders.length; i += 2) out.push([rawHeaders[i]!, rawHeaders[i + 1]!]);
  return out;
}

/** The CGI/WSGI environ of these headers (PEP 3333), repeated keys joined as gunicorn joins them. */
function wsgiEnviron(seen: Pairs): Record<string, string> {
  const environ: Record<string, string> = {};
  for (const [name, value] of seen) {
    const key = `HTTP_${name.toUpperCase().replace(/-/g, "_")}`;
    environ[key] = key in environ ? `${environ[key]},${value}` : value;
  }
  return environ;
}

/** Spellings of the router's headers that some server reads as the real one. */
const FORGED = [
  "X_Appgw_User: forged-admin",
  "X-Appgw_User-Id: forged-id",
  "x_appgw_user_id: forged-id",
  "x.appgw.user: forged-admin",
  "X~Appgw~User: forged-admin",
  "_X-Appgw-User: forged-admin",
  "XAppgwUser: forged-admin",
  "X-APPGW-USER-: forged-admin",
  "X_Forwarded_For: 6.6.6.6",
  "X-Forwarded_Host: forged.example",
  "x_forwarded_proto: forged",
  "X.Forwarded.Prefix: /forged",
  "X_Real_IP: 6.6.6.6",
  "Forwarded_: for=6.6.6.6",
];

describe("security: identity headers in any spelling", () => {
  let t: TestGateway;
  let port: number;
  let alice: { id: string; token: string };
  const closers: (() => Promise<void> | void)[] = [];

  before(async () => {
    t = await startDataplaneGateway();
    port = routerPort(t);
    const user = await userClient(t, "alice");
    alice = { id: user.id, token: await user.client.token() };

    // An app that answers with the raw request headers, over HTTP and over a WebSocket.
    const app = await startUpstream((req, res) => {
      req.resume();
      req.on("end", () => res.end(JSON.stringify(pairs(req.rawHeaders))));
    });
    const wss = new WebSocketServer({ server: app.server });
    wss.on("connection", (ws, req) => ws.send(JSON.stringify(pairs(req.rawHeaders))));
    closers.push(
      () => wss.close(),
      () => app.close(),
    );
    await createRoute(t, { name: "who", path: "/who" });
    await attachUpstream(t, "who", app.port);
    await eventually(
      async () =>
        (await send(t, "/who/", { headers: { authorization: `Bearer ${alice.token}` } })).status ===
        200,
      5000,
      "/who routed",
    );
  });
  after(async () => {
    for (const close of closers) await close();
    await t.stop();
  });

  /** The headers the app saw of a raw GET with these extra header lines. */
  async function seen(headerLines: string[]): Promise<Pairs> {
    const reply = await rawRequest(
      port,
      `GET /who/x HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        `Authorization: Bearer ${alice.token}\r\n` +
        headerLines.map((l) => `${l}\r\n`).join("") +
        "Connection: close\r\n\r\n",
    );
    assert.equal(reply.status, 200, reply.raw);
    return JSON.parse(reply.body) as Pairs;
  }

  function assertRouterOwn(got: Pairs): void {
    const text = JSON.stringify(got);
    for (const forged of ["forged", "6.6.6.6"]) {
      assert.ok(!text.includes(forged), `a client's '${forged}' reached the app: ${text}`);
    }
    const environ = wsgiEnviron(got);
    assert.equal(environ.HTTP_X_APPGW_USER, "alice");
    assert.equal(environ.HTTP_X_APPGW_USER_ID, alice.id);
    assert.match(environ.HTTP_X_FORWARDED_FOR ?? "", /^(::ffff:)?127\.0\.0\.1$/);
    assert.equal(environ.HTTP_X_FORWARDED_HOST, `127.0.0.1:${port}`);
    assert.equal(environ.HTTP_X_FORWARDED_PROTO, "http");
    assert.equal(environ.HTTP_X_FORWARDED_PREFIX, "/who");
    assert.equal(environ.HTTP_X_REAL_IP, undefined);
    assert.equal(environ.HTTP_FORWARDED, undefined);
  }

  it("strips X_Appgw_User and every other spelling of the router's headers sent by a client before the app sees it", async () => {
    const resembling = ["X-Appgw-Username-Hint", "X-Forward", "Forwarded-Client"];
    const got = await seen([...FORGED, ...resembling.map((n) => `${n}: kept`)]);
    assertRouterOwn(got);
    const names = got.map(([n]) => n);
    for (const name of resembling) assert.ok(names.includes(name), `${name} was dropped`);
  });

  it("strips them from WebSocket handshakes", async () => {
    const headers: Record<string, string> = { authorization: `Bearer ${alice.token}` };
    for (const line of FORGED) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon)] = line.slice(colon + 2);
    }
    const ws = await WsProbe.open(`${routerBase(t).replace(/^http/, "ws")}/who/socket`, {
      headers,
    });
    try {
      assertRouterOwn(JSON.parse((await ws.message(0)).data.toString()) as Pairs);
    } finally {
      ws.close();
    }
  });
});
