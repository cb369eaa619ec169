// The page reads and writes through the control API exactly as any SDK client does: the same
// SDK, the same actions, the same authorisation. Only the transport differs: requests go to the
// API in this process with `inject`, so they need no port and keep the browser's address (which
// the API's failed-login limits count by).
import axios, { AxiosHeaders, type AxiosAdapter, type AxiosInstance } from "axios";
import type { FastifyInstance } from "fastify";
import { ReferenceGatewayClient } from "@appgw/sdk/reference";

const API_BASE = "http://api.invalid";

function injectTransport(app: FastifyInstance, remoteAddress: string): AxiosInstance {
  const adapter: AxiosAdapter = async (config) => {
    const url = new URL(axios.getUri(config), API_BASE);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(AxiosHeaders.from(config.headers).toJSON())) {
      if (typeof value === "string") headers[name] = value;
    }
    const res = await app.inject({
      method: (config.method ?? "post").toUpperCase() as "POST",
      url: url.pathname + url.search,
      headers,
      payload: typeof config.data === "string" ? config.data : undefined,
      remoteAddress,
    });
    return {
      data: res.body,
      status: res.statusCode,
      statusText: res.statusMessage,
      headers: new AxiosHeaders(res.headers as Record<string, string>),
      config,
      request: {},
    };
  };
  return axios.create({
    baseURL: API_BASE,
    adapter,
    // Errors are read from the envelope, whatever the status (as the SDK's own transport does).
    validateStatus: () => true,
    headers: { "content-type": "application/json" },
  });
}

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
