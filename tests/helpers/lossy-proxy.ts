// A proxy in front of the control API that loses one action's answer: the gateway carries the
// call out, the client sees its connection cut. How an idempotent create is tested.
import http from "node:http";
import type { AddressInfo } from "node:net";

/** Forwards every call to the API, but cuts the connection after `action` was carried out. */
export async function lossyProxy(
  apiUrl: string,
  action: string,
): Promise<{ url: string; close: () => void }> {
  const server = http.createServer((req, res) => {
    const upstream = http.request(
      `${apiUrl}${req.url}`,
      { method: req.method, headers: req.headers },
      (up) => {
        if (req.url === `/${action}`) {
          up.resume();
          up.on("end", () => res.socket?.destroy());
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => server.close(),
  };
}
