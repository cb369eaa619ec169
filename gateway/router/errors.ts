// How the data plane answers with an error: the codes are the shared ones of `sdk/errors.ts`
// (proxy failures in the style of fastify-reply-from: 502/503/504 with a code). Every error
// body is `{"error": {"code", "message"}}` so API clients can match on `code`.
import type { IncomingMessage, ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import { ERROR_CODES, type ErrorCode } from "@appgw/sdk/errors";
import { hasBody } from "./limits";

export type DataPlaneCode = ErrorCode;

export function errorStatus(code: DataPlaneCode): number {
  return ERROR_CODES[code].status;
}

function defaultMessage(code: DataPlaneCode): string {
  return ERROR_CODES[code].message;
}

export type HeaderList = Record<string, string | string[]>;

/**
 * Whether an answer to `req` must close the connection: its body is not all in. Otherwise Node
 * reads (and throws away) the rest of the body, however large, to reach the next request; with
 * `Connection: close` it destroys the socket once the answer is flushed.
 */
export function closesConnection(req: IncomingMessage): boolean {
  return !req.complete && hasBody(req);
}

/** Answers a plain HTTP request with the JSON error body. */
export function sendError(
  res: ServerResponse,
  code: DataPlaneCode,
  message = defaultMessage(code),
  headers: HeaderList = {},
): void {
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(errorStatus(code), {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    ...(closesConnection(res.req) ? { connection: "close" } : {}),
  });
  res.end(body);
}

/** The same answer as raw bytes, for sockets taken over by the `upgrade` event. */
export function rawErrorResponse(
  code: DataPlaneCode,
  message = defaultMessage(code),
  headers: HeaderList = {},
): string {
  const status = errorStatus(code);
  const body = JSON.stringify({ error: { code, message } });
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  }
  head +=
    "content-type: application/json; charset=utf-8\r\n" +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    "connection: close\r\n\r\n";
  return head + body;
}

/**
 * What the logs keep of an error: its code and message. Not pino's `err` serializer: expected
 * failures (a target down, the API restarting) need no stack trace on every retry.
 */
export function errorFields(err: unknown): { code?: string; message: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return {
    ...(typeof code === "string" ? { code } : {}),
    message: err instanceof Error ? err.message : String(err),
  };
}
