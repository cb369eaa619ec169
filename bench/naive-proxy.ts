// The floor for a Node proxy, as the design's anchors measured it: a naive reverse proxy over one
// undici Pool (keep-alive) with `stream()`, no routing, no auth, no header policy beyond dropping
// hop-by-hop headers. Its own process. Prints `READY <port>`; ends on SIGTERM, SIGINT or when
// stdin closes.
//
//   node --import tsx bench/naive-proxy.ts <upstream origin>
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { Pool } from "undici";

const HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "proxy-authorization",
  "proxy-authenticate",
  "host",
]);

const origin = process.argv[2];
if (!origin) throw new Error("usage: naive-proxy.ts <upstream origin>");
const pool = new Pool(origin, { keepAliveTimeout: 4_000, keepAliveMaxTimeout: 4_000 });

function clean(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
}

const server = http.createServer((req, res) => {
  const length = req.headers["content-length"];
  const hasBody =
    req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
  pool.stream(
    {
      path: req.url ?? "/",
      method: (req.method ?? "GET") as "GET",
      headers: clean(req.headers),
      body: hasBody ? req : null,
      opaque: res,
    },
    ({ statusCode, headers, opaque }) => {
      const out = opaque as http.ServerResponse;
      out.writeHead(statusCode, clean(headers));
      return out as unknown as Writable;
    },
    (err) => {
      if (!err) return;
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end("bad gateway\n");
      } else res.destroy();
    },
  );
});
server.keepAliveTimeout = 65_000;

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
});

function shutdown(): void {
  server.closeAllConnections();
  server.close(() => process.exit(0));
  void pool.destroy();
  setTimeout(() => process.exit(0), 1_000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
process.stdin.on("end", shutdown);
process.stdin.resume();
