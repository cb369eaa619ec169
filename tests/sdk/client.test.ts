import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { AppGatewayClient } from "../../sdk";
import { rejection, startTestGateway, type TestGateway } from "../helpers/gateway";

describe("SDK client", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  it("is configured from CLEARML_API_* with explicit options winning", async () => {
    const env = {
      CLEARML_API_HOST: t.apiUrl,
      CLEARML_API_ACCESS_KEY: t.admin.accessKey,
      CLEARML_API_SECRET_KEY: t.admin.secretKey,
    };
    const client = AppGatewayClient.fromEnv({}, env);
    assert.equal((await client.users.me()).name, "admin");
    assert.equal(
      AppGatewayClient.fromEnv({ apiHost: "http://other:1" }, env).apiHost,
      "http://other:1",
    );
    const err = await rejection(async () => AppGatewayClient.fromEnv({}, {}));
    assert.equal(err.field, "apiHost");
  });

  it("logs in once for concurrent calls", async () => {
    let logins = 0;
    const counting = http.createServer((req, res) => {
      const body: Buffer[] = [];
      req.on("data", (c: Buffer) => body.push(c));
      req.on("end", () => {
        if (req.url === "/auth.login") logins++;
        const proxied = http.request(
          `${t.apiUrl}${req.url}`,
          { method: "POST", headers: req.headers },
          (up) => {
            res.writeHead(up.statusCode ?? 500, up.headers);
            up.pipe(res);
          },
        );
        proxied.end(Buffer.concat(body));
      });
    });
    await new Promise<void>((r) => counting.listen(0, "127.0.0.1", r));
    try {
      const client = new AppGatewayClient({
        apiHost: `http://127.0.0.1:${(counting.address() as AddressInfo).port}`,
        ...t.admin,
      });
      await Promise.all([client.routes.list(), client.groups.list(), client.users.list()]);
      assert.equal(logins, 1);
    } finally {
      counting.close();
    }
  });

  it("retries reads after connection failures, but not a write that may have arrived", async () => {
    // Accepts every connection and resets it: the request was sent, the answer never comes.
    let connections = 0;
    const resetting = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((r) => resetting.listen(0, "127.0.0.1", r));
    try {
      const apiHost = `http://127.0.0.1:${(resetting.address() as AddressInfo).port}`;
      const client = new AppGatewayClient({ apiHost, token: "x", maxRetries: 2, retryDelayMs: 5 });
      const read = await rejection(() => client.routes.list());
      assert.equal(read.code, "APPGW_CONNECTION");
      assert.match(read.message, /routers\.get_routes: cannot reach/);
      assert.equal(connections, 3, "one try and two retries");
      connections = 0;
      const write = await rejection(() => client.routes.create({ name: "x", path: "/x" }));
      assert.equal(write.code, "APPGW_CONNECTION");
      assert.equal(connections, 1, "a create is not sent twice");
    } finally {
      resetting.close();
    }
  });

  it("never keeps the token in an error", async () => {
    const token = await t.client.token();
    const client = new AppGatewayClient({ apiHost: t.apiUrl, token });
    const err = await rejection(() => client.routes.create({ name: "x" }));
    assert.equal(err.code, "APPGW_INVALID_REQUEST");
    assert.ok(!JSON.stringify(err).includes(token));
    assert.ok(!String(err.stack).includes(token));
    assert.ok(err.requestId, "the gateway's request id is kept");
  });

  it("refuses an answer that is not the ClearML envelope", async () => {
    const plain = http.createServer((_req, res) => res.end("<html>proxy error</html>"));
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
    try {
      const client = new AppGatewayClient({
        apiHost: `http://127.0.0.1:${(plain.address() as AddressInfo).port}`,
        token: "x",
      });
      const err = await rejection(() => client.routes.list());
      assert.equal(err.code, "APPGW_BAD_RESPONSE");
    } finally {
      plain.close();
    }
  });
});
