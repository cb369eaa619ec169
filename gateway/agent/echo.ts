// The echo service the agent runs for router tests (and demos): answers every HTTP request with
// what it received, streams server-sent events on `.../sse`, and echoes WebSocket messages.
// The `nonce` it reports proves a request reached this very task.
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { WebSocketServer } from "ws";

export interface EchoService {
  port: number;
  close(): Promise<void>;
}

export async function startEcho(opts: {
  task: string;
  nonce: string;
  host?: string;
}): Promise<EchoService> {
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://echo");
    if (url.pathname.endsWith("/sse")) {
      const count = Math.min(Number(url.searchParams.get("count") ?? 3) || 3, 1000);
      const interval = Math.min(Number(url.searchParams.get("interval_ms") ?? 50) || 50, 10_000);
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      let sent = 0;
      const timer = setInterval(() => {
        res.write(`data: ${JSON.stringify({ n: sent, task: opts.task })}\n\n`);
        if (++sent >= count) {
          clearInterval(timer);
          res.end();
        }
      }, interval);
      req.on("close", () => clearInterval(timer));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.stringify({
        service: "appgw-echo",
        task: opts.task,
        nonce: opts.nonce,
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
      });
      res.end(body);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws, req) => {
    ws.send(
      JSON.stringify({ service: "appgw-echo", task: opts.task, nonce: opts.nonce, url: req.url }),
    );
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, opts.host ?? "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      wss.clients.forEach((c) => c.terminate());
      sockets.forEach((s) => s.destroy());
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
