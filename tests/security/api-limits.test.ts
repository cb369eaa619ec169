// What a slow or greedy client may cost the control API: its body is bounded (1 MiB, GET and
// chunked bodies too), and a client trickling its request is cut within 60 s, while the long
// polls routers and agents hold (30 s of silence) go on.
import assert from "node:assert/strict";
import net from "node:net";
import { bearerAuth, startTestGateway, type TestGateway } from "../helpers/gateway";

interface Exchange {
  /** What the API answered, if anything, before it closed. */
  answer: string;
  /** When the API closed the connection, in ms from the start. */
  closedAfterMs: number;
}

/**
 * Opens a raw connection, writes `head`, then `body` one chunk every `everyMs` (all at once for
 * 0), and waits for the API to close the connection. A client stops sending once answered.
 */
function exchange(
  apiUrl: string,
  head: string,
  body: (string | Buffer)[],
  everyMs = 0,
): Promise<Exchange> {
  const { hostname, port } = new URL(apiUrl);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const rest = [...body];
    let answer = "";
    let timer: NodeJS.Timeout | undefined;
    socket.on("connect", () => {
      socket.write(head);
      if (everyMs === 0) {
        for (const chunk of rest.splice(0)) socket.write(chunk);
        return;
      }
      timer = setInterval(() => {
        const chunk = rest.shift();
        if (chunk === undefined) clearInterval(timer);
        else if (!socket.destroyed) socket.write(chunk);
      }, everyMs);
    });
    socket.on("data", (d) => {
      rest.length = 0;
      answer += d.toString("latin1");
    });
    socket.on("close", () => {
      clearInterval(timer);
      resolve({ answer, closedAfterMs: Date.now() - started });
    });
    socket.setTimeout(90_000, () => reject(new Error("the API never closed the connection")));
  });
}

const chars = (text: string): string[] => [...text];
/** A chunk of `size` bytes in chunked transfer coding. */
const chunk = (size: number) => `${size.toString(16)}\r\n${"a".repeat(size)}\r\n`;

describe("security: the control API bounds slow and large requests", function () {
  this.timeout(90_000);
  let t: TestGateway;
  let auth: Record<string, string>;

  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    auth = await bearerAuth(t.client);
  });
  after(() => t.stop());

  it("cuts clients trickling headers or a body within 60 s while a 30 s long poll answers", async () => {
    const headers = exchange(
      t.apiUrl,
      "POST /auth.login HTTP/1.1\r\nHost: api\r\n",
      chars(`X-Slow: ${"a".repeat(100)}`),
      2000,
    );
    const body = exchange(
      t.apiUrl,
      "POST /auth.login HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n" +
        "Content-Length: 100\r\n\r\n",
      chars(`{${" ".repeat(98)}}`),
      2000,
    );
    const since = Date.now();
    const poll = t.client.watch(t.gw.api.store.revision, 30);

    const [slowHeaders, slowBody, revision] = await Promise.all([headers, body, poll]);
    assert.ok(slowHeaders.closedAfterMs < 60_000, `headers: ${slowHeaders.closedAfterMs} ms`);
    assert.ok(slowBody.closedAfterMs < 60_000, `body: ${slowBody.closedAfterMs} ms`);
    assert.match(slowBody.answer, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - since >= 29_000, "the long poll waited its 30 s");
    assert.equal(typeof revision, "number");
  });

  for (const method of ["GET", "POST"] as const) {
    it(`refuses a chunked ${method} body over 1 MiB at once, closing the connection`, async () => {
      // 1 MiB, then one byte more; the body's end never comes.
      const body = [...Array.from({ length: 16 }, () => chunk(64 * 1024)), chunk(1)];
      const result = await exchange(
        t.apiUrl,
        `${method} /tasks.get_all HTTP/1.1\r\nHost: api\r\nAuthorization: ${auth.authorization}\r\n` +
          "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        body,
      );
      assert.match(result.answer, /^HTTP\/1\.1 400 /);
      assert.match(result.answer, /"field":"body"/);
      assert.match(result.answer, /\r\nconnection: close\r\n/i);
      assert.ok(result.closedAfterMs < 5000, `closed after ${result.closedAfterMs} ms`);
    });
  }

  it("answers an unauthenticated GET announcing 100 MB 401 and closes rather than wait for it", async () => {
    const result = await exchange(
      t.apiUrl,
      "GET /tasks.get_all HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n" +
        `Content-Length: ${100 * 1024 * 1024}\r\n\r\n`,
      [],
    );
    assert.match(result.answer, /^HTTP\/1\.1 401 /);
    assert.match(result.answer, /\r\nconnection: close\r\n/i);
    assert.ok(result.closedAfterMs < 5000, `closed after ${result.closedAfterMs} ms`);
  });
});
