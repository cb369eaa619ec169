// The SDK's transport to the control API in this process, over fastify's `inject`: requests need
// no port and arrive with the address of the person they are made for, as if that browser had
// called the API itself. So the API's failed-login limits count each browser without believing
// an `X-Forwarded-For` from anyone. The settings page and the embedded router's login page call
// the API through it.
import axios, { AxiosHeaders, type AxiosAdapter, type AxiosInstance } from "axios";
import type { FastifyInstance } from "fastify";

const API_BASE = "http://api.invalid";

export function injectTransport(app: FastifyInstance, remoteAddress: string): AxiosInstance {
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
