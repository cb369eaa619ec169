// A proxy in front of the control API that records every action called through it and, when
// asked, loses one action's answers (the gateway carries the call out, the client sees its
// connection cut), replaces them with an answer of its own (a proxy's error page), or holds calls
// back until the test lets them go. How idempotent creates, retries, the number of calls an
// operation makes and orderings that are otherwise a race are tested.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ApiProxy {
  url: string;
  /** `service.action` of every call forwarded, in order. */
  calls: string[];
  /** Every answered call: the method, the URL's path (version prefix and all) and the status. */
  exchanges: { method: string; path: string; status: number }[];
  /** The action whose answers are lost from now on (undefined: none). */
  lose: string | undefined;
  /** Runs with each lost answer before the connection is cut (a test may kill the gateway). */
  onLost?: (answer: string) => void | Promise<void>;
  /**
   * Called with each action once the API has answered it (the call was carried out): an answer
   * returned here goes to the client instead of the API's, such as a proxy's 502 page.
   */
  replace?: (action: string) => ReplacedAnswer | undefined;
  /** Runs with each call's body before it is forwarded, which waits for it to settle. */
  hold?: (action: string, body: string) => void | Promise<void>;
  close(): void;
}

/** What the proxy answers in the API's place. */
export interface ReplacedAnswer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export async function apiProxy(apiUrl: string, opts: { lose?: string } = {}): Promise<ApiProxy> {
  const server = http.createServer((req, res) => {
    const action = (req.url ?? "").replace(/^\//, "");
    proxy.calls.push(action);
    const upstream = http.request(
      `${apiUrl}${req.url}`,
      { method: req.method, headers: req.headers },
      (up) => {
        if (action === proxy.lose) {
          let answer = "";
          up.on("data", (chunk: Buffer) => (answer += chunk));
          up.on("end", () => {
            void Promise.resolve(proxy.onLost?.(answer)).finally(() => res.socket?.destroy());
          });
          return;
        }
        const path = (req.url ?? "").split("?")[0] ?? "";
        const replaced = proxy.replace?.(action);
        if (replaced) {
          up.resume();
          proxy.exchanges.push({ method: req.method ?? "", path, status: replaced.status });
          res.writeHead(replaced.status, replaced.headers).end(replaced.body);
          return;
        }
        proxy.exchanges.push({ method: req.method ?? "", path, status: up.statusCode ?? 502 });
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    // An API that is gone looks the same to the client through the proxy: the connection drops.
    upstream.on("error", () => res.socket?.destroy());
    const body: Buffer[] = [];
    req.on("data", (chunk: Buffer) => body.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(body);
      void Promise.resolve(proxy.hold?.(action, text.toString())).then(
        () => upstream.end(text),
        () => res.socket?.destroy(),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const proxy: ApiProxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: [],
    exchanges: [],
    lose: opts.lose,
    close: () => server.close(),
  };
  return proxy;
}

/** Forwards every call to the API, but cuts the connection after `action` was carried out. */
export const lossyProxy = (apiUrl: string, action: string): Promise<ApiProxy> =>
  apiProxy(apiUrl, { lose: action });
