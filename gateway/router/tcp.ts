// Raw TCP endpoints (`_SERVICE=EXTERNAL_TCP`): each service gets a port of the configured range on
// the router and bytes are piped both ways. There is no authentication at this layer (there is
// nothing to carry a token), as in ClearML's TCP routing: restrict the range at the network level.
import { createConnection, createServer, isIPv6, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import type { ServiceConfig } from "@appgw/sdk/contract";
import type { TcpConfig } from "./config";
import { errorFields } from "./errors";
import type { ConnectionLimiter } from "./limits";
import type { TcpEndpoint } from "./report";
import { targetKey } from "./table";

interface Listener {
  server: Server;
  port: number;
  service: ServiceConfig;
  sockets: Set<Socket>;
}

export class TcpForwarder {
  /** By target key: a service keeps its port for as long as it asks for an endpoint. */
  private readonly listeners = new Map<string, Listener>();

  constructor(
    private readonly config: TcpConfig,
    /** The listen address (`ROUTER_HOST`). */
    private readonly host: string,
    /** The router's connection limits, which count these ports with the HTTP port. */
    private readonly connections: ConnectionLimiter,
    private readonly logger: Logger,
  ) {}

  /** Opens ports for new services, closes those of services that are gone. */
  async reconcile(services: readonly ServiceConfig[]): Promise<TcpEndpoint[]> {
    const wanted = new Map(services.map((s) => [targetKey(s.task, s.endpoint_name), s]));
    for (const [key, l] of this.listeners) {
      const s = wanted.get(key);
      if (s === undefined) {
        this.listeners.delete(key);
        this.shut(l);
      } else if (s.address !== l.service.address || s.port !== l.service.port) {
        // Same service on a new address: keep the public port, drop connections to the old one.
        l.service = s;
        for (const socket of l.sockets) socket.destroy();
      }
    }
    for (const [key, s] of wanted) {
      if (this.listeners.has(key)) continue;
      const l = await this.open(s);
      if (l !== null) this.listeners.set(key, l);
    }
    const address = isIPv6(this.config.address) ? `[${this.config.address}]` : this.config.address;
    return [...this.listeners.values()].map((l) => ({
      task: l.service.task,
      endpointName: l.service.endpoint_name,
      endpoint: `tcp://${address}:${l.port}`,
    }));
  }

  close(): void {
    for (const l of this.listeners.values()) this.shut(l);
    this.listeners.clear();
  }

  private shut(l: Listener): void {
    l.server.close();
    for (const socket of l.sockets) socket.destroy();
  }

  private async open(service: ServiceConfig): Promise<Listener | null> {
    const used = new Set([...this.listeners.values()].map((l) => l.port));
    for (let port = this.config.portStart; port <= this.config.portEnd; port++) {
      if (used.has(port)) continue;
      const l: Listener = { server: createServer(), port, service, sockets: new Set() };
      // Registered first: a connection over a limit is closed before it is piped anywhere.
      this.connections.attach(l.server, "");
      l.server.on("connection", (client) => {
        if (!client.destroyed) this.pipe(l, client);
      });
      try {
        await new Promise<void>((resolve, reject) => {
          l.server.once("error", reject);
          l.server.listen(port, this.host, () => {
            l.server.off("error", reject);
            resolve();
          });
        });
        l.server.on("error", (err) =>
          this.logger.warn({ error: errorFields(err), port }, "tcp listener error"),
        );
        return l;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "EADDRINUSE") {
          this.logger.warn({ error: errorFields(err), port }, "cannot listen for TCP");
          return null;
        }
      }
    }
    this.logger.warn({ task: service.task }, "no free port left in the TCP range");
    return null;
  }

  private pipe(l: Listener, client: Socket): void {
    const upstream = createConnection({ host: l.service.address, port: l.service.port });
    const end = () => {
      client.destroy();
      upstream.destroy();
      l.sockets.delete(client);
      l.sockets.delete(upstream);
    };
    l.sockets.add(client).add(upstream);
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      s.on("error", end);
      s.on("close", end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
