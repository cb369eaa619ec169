// The bench's upstream, run as its own process: a plain Node http server on 127.0.0.1 that
// answers every GET with a ~100-byte JSON body, `/sse` with a short event stream, and echoes
// WebSocket messages. Prints `READY <port>` once listening; ends on SIGTERM or SIGINT.
//
//   node --import tsx bench/upstream.ts [port]
import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

const BODY = Buffer.from(
  JSON.stringify({ ok: true, service: "bench-upstream", pad: "x".repeat(52) }) + "\n",
);
/** Events per SSE stream after the first one. */
const SSE_MORE = 4;

const server = http.createServer((req, res) => {
  const url = req.url ?? "/";
  if (url === "/sse" || url.startsWith("/sse?")) {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
    });
    res.write("data: first\n\n");
    let left = SSE_MORE;
    const next = (): void => {
      if (res.destroyed) return;
      if (left-- <= 0) {
        res.end();
        return;
      }
      res.write(`data: event ${SSE_MORE - left}\n\n`);
      setImmediate(next);
    };
    setImmediate(next);
    return;
  }
  // Drain any request body, then answer.
  req.resume();
  res.writeHead(200, { "content-type": "application/json", "content-length": BODY.length });
  res.end(BODY);
});
// Longer than nginx's upstream keepalive_timeout (60 s) and the router's pool idle time (4 s),
// so neither proxy ever sends a request on a socket this server is closing.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

const wss = new WebSocketServer({ server });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});

const port = Number(process.argv[2] ?? 0);
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
});

function shutdown(): void {
  for (const c of wss.clients) c.terminate();
  wss.close();
  server.closeAllConnections();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1_000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
// A bench that dies without ending us must not leave us running: stdin closes with it.
process.stdin.on("end", shutdown);
process.stdin.resume();
