// Raw TCP endpoints (`_SERVICE=EXTERNAL_TCP`) take the router's connection limits too: a client
// cannot exhaust the router's sockets through a TCP port any more than through its HTTP port.
import assert from "node:assert/strict";
import net from "node:net";
import { EXTERNAL_SERVICE_TAG, RUNTIME } from "@appgw/sdk";
import { eventually, startTestGateway, type TestGateway } from "../helpers/gateway";

/** A free loopback port range of `n` ports, as far as a quick probe can tell. */
async function freePorts(n: number): Promise<number> {
  for (;;) {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const start = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    if (start + n < 65535) return start;
  }
}

/** Resolves with what the server echoed, or "closed" when it closed the connection first. */
function echoOnce(port: number, sockets: net.Socket[]): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" }, () => socket.write("ping"));
    sockets.push(socket);
    socket.once("data", (data) => resolve(data.toString()));
    socket.once("close", () => resolve("closed"));
    socket.on("error", () => undefined);
  });
}

describe("security: TCP endpoints and the connection limits", () => {
  let t: TestGateway;
  let echo: net.Server;
  const sockets: net.Socket[] = [];

  before(async () => {
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    const start = await freePorts(3);
    t = await startTestGateway({
      agent: false,
      router: {
        TCP_PORT_START: String(start),
        TCP_PORT_END: String(start + 2),
        APPGW_MAX_CONNECTIONS_PER_ADDRESS: "2",
      },
    });
  });
  after(async () => {
    sockets.forEach((s) => s.destroy());
    echo.close();
    await t.stop();
  });

  it("closes a TCP connection over the per-address limit, and serves the ones within it", async () => {
    const queue = await t.client.queues.ensure("tcp-limits");
    const task = await t.client.tasks.create({ name: "tcp-echo", type: "application" });
    await t.client.tasks.enqueue(task, queue);
    await t.client.queues.next(queue);
    await t.client.tasks.report("started", task);
    await t.client.tasks.editRuntime(task, {
      [RUNTIME.service]: "EXTERNAL_TCP",
      [RUNTIME.address]: "127.0.0.1",
      [RUNTIME.port]: String((echo.address() as net.AddressInfo).port),
    });
    await t.client.tasks.edit({ task, system_tags: [EXTERNAL_SERVICE_TAG], force: true });
    const endpoint = await eventually(async () => {
      const value = (await t.client.tasks.get(task)).runtime?.[RUNTIME.endpoint];
      return typeof value === "string" && value.startsWith("tcp://") ? value : undefined;
    }, 10_000);
    const port = Number(new URL(endpoint).port);

    assert.equal(await echoOnce(port, sockets), "ping");
    assert.equal(await echoOnce(port, sockets), "ping");
    assert.equal(await echoOnce(port, sockets), "closed");
    sockets.shift()!.destroy();
    await eventually(async () => (await echoOnce(port, sockets)) === "ping", 3000);
  });
});
