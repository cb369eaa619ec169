// failFastMs: once the server proved unreachable, or refused the credentials, a short-lived
// client (a Pulumi run) fails every call at once with that error instead of finding out again
// per call. A lost answer does not trip it: the caller recovers from that one.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { AppGatewayClient } from "@appgw/sdk";
import { FakeClearML, KEYS, fail, rejection } from "./fake-clearml";

describe("SDK client with failFastMs", () => {
  it("fails every later call at once after the server refused connections", async () => {
    // A port nothing listens on: bind one, note it, close it.
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const client = new AppGatewayClient({
      apiHost: `http://127.0.0.1:${port}`,
      ...KEYS,
      retryDelayMs: 50,
      failFastMs: 10_000,
    });
    const first = await rejection(() => client.routes.list());
    assert.equal(first.code, "APPGW_CONNECTION");
    const started = Date.now();
    const again = await Promise.all([1, 2, 3].map(() => rejection(() => client.groups.list())));
    assert.ok(Date.now() - started < 50, "no retries, no new connection attempts");
    for (const err of again) assert.equal(err, first, "the same error, with its message");
  });

  describe("against a server", () => {
    let fake: FakeClearML;
    before(async () => {
      fake = await FakeClearML.start();
    });
    beforeEach(() => fake.reset());
    after(() => fake.stop());

    it("stops logging in once the credentials were refused", async () => {
      fake.on("auth.login", fail(401, 22, "Invalid access key or secret"));
      const client = fake.client({ failFastMs: 10_000 });
      const first = await rejection(() => client.routes.list());
      assert.equal(first.code, "APPGW_INVALID_CREDENTIALS");
      await rejection(() => client.routes.list());
      await rejection(() => client.queues.list());
      assert.equal(fake.calls("auth.login").length, 1);
    });

    it("keeps calling after a lost answer, and without failFastMs", async () => {
      const lossy = fake.client({ failFastMs: 10_000, maxRetries: 0 });
      fake.once("routers.add_or_update_route", { drop: true });
      const lost = await rejection(() =>
        lossy.routes.save({ name: "r", type: "path", path: "/r" }),
      );
      assert.equal(lost.code, "APPGW_CONNECTION");
      assert.ok(Array.isArray(await lossy.routes.list()), "the next call goes out");

      fake.on("auth.login", fail(401, 22, "Invalid access key or secret"));
      const before = fake.calls("auth.login").length;
      const plain = fake.client();
      await rejection(() => plain.routes.list());
      await rejection(() => plain.routes.list());
      assert.equal(fake.calls("auth.login").length - before, 2, "each call tries to log in");
    });
  });
});
