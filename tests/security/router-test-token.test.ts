// The router test sends traffic through the router with a token. That token must go only to the
// router under test and be worth little beyond the test: before, it was the provider's own
// session token (24 h). A recording proxy stands in front of the router, as a load balancer
// would, and sees what a router sees.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt } from "jose";
import { runRouterTest } from "../../sdk/routerTest";
import { startTestGateway, type TestGateway } from "../helpers/gateway";

describe("security: the router test's token", () => {
  let t: TestGateway;
  let front: http.Server;
  const seen: string[] = [];

  before(async () => {
    let routerPort = 0;
    front = http.createServer((req, res) => {
      if (req.headers.authorization) seen.push(req.headers.authorization);
      const up = http.request(
        {
          host: "127.0.0.1",
          port: routerPort,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      up.on("error", () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
    const frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
    t = await startTestGateway({ router: { ROUTER_URL: frontUrl } });
    routerPort = t.gw.router!.port;
  });
  after(async () => {
    front.closeAllConnections();
    front.close();
    await t.stop();
  });

  it("is a token of its own that expires soon after the test's deadline", async () => {
    const timeoutSec = 30;
    const result = await runRouterTest(t.client, {
      router: "router-1",
      queue: "default",
      timeoutSec,
      allowInsecure: false,
    });
    assert.equal(result.status, "passed", result.statusMessage);
    assert.ok(seen.length > 0, "the test's requests went through the router");
    const own = await t.client.token();
    for (const header of seen) {
      const token = header.replace(/^Bearer /, "");
      assert.notEqual(token, own, "the provider's own session token reached the router");
      const { iat, exp } = decodeJwt(token);
      assert.ok(exp! - iat! <= timeoutSec + 60, `token lives ${exp! - iat!} s`);
    }
  });
});
