// The page reads and writes through the control API exactly as any SDK client does: the same
// SDK, the same actions, the same authorisation. Only the transport differs: requests go to the
// API in this process (gateway/inject-transport.ts), so they need no port and keep the browser's
// address (which the API's failed-login limits count by).
import type { FastifyInstance } from "fastify";
import { ReferenceGatewayClient } from "@appgw/sdk/reference";
import { injectTransport } from "../inject-transport";

/**
 * A client acting as the signed-in person: their session token, their address. `apiHost` is the
 * page's own origin, which the SDK names in its messages; requests never leave the process.
 */
export function clientFor(
  app: FastifyInstance,
  from: { remoteAddress: string; apiHost: string },
  token?: string,
  credentials?: { accessKey: string; secretKey: string },
): ReferenceGatewayClient {
  return new ReferenceGatewayClient({
    apiHost: from.apiHost,
    token,
    ...credentials,
    transport: injectTransport(app, from.remoteAddress),
    // A person is waiting on the page: a failure shows at once rather than after retries.
    maxRetries: 0,
  });
}
