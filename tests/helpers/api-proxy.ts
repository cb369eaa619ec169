// A proxy in front of the control API that records every action called through it and, when
// asked, loses one action's answer: the gateway carries the call out, the client sees its
// connection cut. How idempotent creates and the number of calls an operation makes are tested.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ApiProxy {
  url: string;
  /** `service.action` of every call forwarded, in order. */
  calls: string[];
  close(): void;
}

export async function apiProxy(apiUrl: string, opts: { lose?: string } = {}): Promise<ApiProxy> {
  const calls: string[] = [];
  const server = http.createServer((req, res) => {
    const action = (req.url ?? "").replace(/^\//, "");
    calls.push(action);
    const upstream = http.request(
      `${apiUrl}${req.url}`,
      { method: req.method, headers: req.headers },
      (up) => {
        if (action === opts.lose) {
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
    calls,
    close: () => server.close(),
  };
}

/** Forwards every call to the API, but cuts the connection after `action` was carried out. */
export const lossyProxy = (apiUrl: string, action: string): Promise<ApiProxy> =>
  apiProxy(apiUrl, { lose: action });
