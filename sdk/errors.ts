// One error hierarchy for the gateway and its clients, in ClearML's terms. The control API
// reports an error as `meta.result_code` (the HTTP status) and `meta.result_subcode`, with the
// text in `result_msg`; the SDK classifies a failure by that pair alone, so it reads a real
// ClearML server the same way as the reference gateway. Match on `code`, never on
// `instanceof`: a serialized Pulumi provider can load a second copy of this module.
//
// This file has no imports on purpose: the gateway, the SDK and the provider all load it.

/**
 * Every stable code with its HTTP status and subcode. `documented: true` marks the pairs
 * ClearML's server defines (apierrors/errors.conf); the SDK classifies only those. The others
 * fill gaps of the published Enterprise reference (no subcodes for routes and groups): the
 * reference gateway sends them, and the SDK reads them as an unclassified 400.
 */
export const ERROR_CODES = {
  APPGW_INVALID_ID: { status: 400, subcode: 10, documented: true, message: "Invalid id" },
  APPGW_MISSING_FIELDS: {
    status: 400,
    subcode: 11,
    documented: true,
    message: "Missing required fields",
  },
  APPGW_INVALID_REQUEST: {
    status: 400,
    subcode: 12,
    documented: true,
    message: "Validation error",
  },
  APPGW_TASK_NOT_FOUND: { status: 400, subcode: 101, documented: true, message: "Invalid task id" },
  APPGW_TASK_STATE: { status: 400, subcode: 110, documented: true, message: "Invalid task status" },
  APPGW_PROJECT_NOT_FOUND: {
    status: 400,
    subcode: 401,
    documented: true,
    message: "Invalid project id",
  },
  APPGW_USER_NOT_FOUND: { status: 400, subcode: 301, documented: true, message: "Invalid user id" },
  APPGW_QUEUE_NOT_FOUND: {
    status: 400,
    subcode: 701,
    documented: true,
    message: "Invalid queue id",
  },
  APPGW_NO_DEFAULT_QUEUE: {
    status: 400,
    subcode: 707,
    documented: true,
    message: "No default queue",
  },
  APPGW_QUEUE_NOT_EMPTY: {
    status: 400,
    subcode: 702,
    documented: true,
    message: "Queue not empty",
  },
  APPGW_ALREADY_EXISTS: {
    status: 400,
    subcode: 801,
    documented: true,
    message: "Expected unique data",
  },
  APPGW_UNAUTHORIZED: { status: 401, subcode: 20, documented: true, message: "No credentials" },
  APPGW_BAD_CREDENTIALS: { status: 401, subcode: 21, documented: true, message: "Bad credentials" },
  APPGW_INVALID_CREDENTIALS: {
    status: 401,
    subcode: 22,
    documented: true,
    message: "Invalid access key or secret",
  },
  APPGW_INVALID_TOKEN: {
    status: 401,
    subcode: 30,
    documented: true,
    message: "Invalid or expired token",
  },
  APPGW_BLOCKED_TOKEN: { status: 401, subcode: 31, documented: true, message: "Blocked token" },
  APPGW_FORBIDDEN: { status: 403, subcode: 20, documented: true, message: "Role not allowed" },
  APPGW_NO_WRITE_PERMISSION: {
    status: 403,
    subcode: 21,
    documented: true,
    message: "No write permission",
  },
  APPGW_UNKNOWN_ENDPOINT: {
    status: 404,
    subcode: 0,
    documented: true,
    message: "Unknown endpoint",
  },
  APPGW_INTERNAL: { status: 500, subcode: 0, documented: true, message: "General error" },
  // The reference gateway's own subcodes, where the Enterprise reference publishes none.
  APPGW_ROUTE_ENABLED: {
    status: 400,
    subcode: 1101,
    documented: false,
    message: "Route is enabled",
  },
  APPGW_ROUTE_ACTIVE: { status: 400, subcode: 1102, documented: false, message: "Route is active" },
  APPGW_ROUTE_BUSY: {
    status: 400,
    subcode: 1103,
    documented: false,
    message: "Single-endpoint route in use",
  },
  APPGW_GROUP_SYSTEM: { status: 400, subcode: 1104, documented: false, message: "Built-in group" },
  APPGW_GROUP_IN_USE: {
    status: 400,
    subcode: 1105,
    documented: false,
    message: "Group restricts a route",
  },
  APPGW_TOO_MANY_REQUESTS: {
    status: 429,
    subcode: 0,
    documented: false,
    message: "Too many failed logins",
  },
  // Client-side: an error answer the SDK could not classify, or no usable answer at all.
  APPGW_BAD_REQUEST: { status: 400, subcode: 0, documented: false, message: "Request refused" },
  APPGW_CONNECTION: { status: 0, subcode: 0, documented: false, message: "Gateway unreachable" },
  APPGW_BAD_RESPONSE: { status: 0, subcode: 0, documented: false, message: "Unexpected response" },
  // The router's data plane answers with these (body `{"error": {"code", "message"}}`).
  APPGW_BAD_PATH: { status: 400, subcode: 0, documented: false, message: "Bad request path" },
  APPGW_BAD_HEADER: {
    status: 400,
    subcode: 0,
    documented: false,
    message: "Malformed or repeated request header",
  },
  APPGW_NO_ROUTE: {
    status: 404,
    subcode: 0,
    documented: false,
    message: "No route for this address",
  },
  APPGW_METHOD_NOT_ALLOWED: {
    status: 405,
    subcode: 0,
    documented: false,
    message: "Method not allowed",
  },
  APPGW_UPSTREAM_UNAVAILABLE: {
    status: 502,
    subcode: 0,
    documented: false,
    message: "Upstream unavailable",
  },
  APPGW_NO_TARGET: {
    status: 503,
    subcode: 0,
    documented: false,
    message: "No target is serving this route",
  },
  APPGW_AUTH_UNAVAILABLE: {
    status: 503,
    subcode: 0,
    documented: false,
    message: "Cannot verify tokens right now",
  },
  APPGW_UPSTREAM_TIMEOUT: {
    status: 504,
    subcode: 0,
    documented: false,
    message: "Upstream timed out",
  },
  APPGW_REQUEST_TIMEOUT: {
    status: 408,
    subcode: 0,
    documented: false,
    message: "Request sent too slowly",
  },
  APPGW_BODY_TOO_LARGE: {
    status: 413,
    subcode: 0,
    documented: false,
    message: "Request body too large",
  },
  APPGW_UPGRADE_NOT_SUPPORTED: {
    status: 400,
    subcode: 0,
    documented: false,
    message: "Only WebSocket upgrades are supported",
  },
  APPGW_TOO_MANY_CONNECTIONS: {
    status: 503,
    subcode: 0,
    documented: false,
    message: "Too many connections",
  },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetails {
  /** The request field at fault, as a dotted path (`load_balancer.enabled`). */
  field?: string;
  /** Why the field or the request was refused, for a person. */
  reason?: string;
  /** Anything else worth keeping (`meta.error_data` of the answer, the holder of a name...). */
  [key: string]: unknown;
}

/** Base of every gateway error. */
export class AppGatewayError extends Error {
  readonly code: ErrorCode;
  /** HTTP status: `meta.result_code` of the answer (0 when there was none). */
  readonly statusCode: number;
  /** `meta.result_subcode` of the answer. */
  readonly subcode: number;
  readonly details: ErrorDetails;
  /** The `meta.id` of the failed call, when the gateway answered. */
  requestId?: string;
  /** `service.action` of the failed call, when known. */
  endpoint?: string;

  constructor(
    code: ErrorCode,
    message?: string,
    details: ErrorDetails = {},
    wire?: { status: number; subcode: number },
  ) {
    super(message ?? ERROR_CODES[code].message);
    this.name = new.target.name;
    this.code = code;
    this.statusCode = wire?.status ?? ERROR_CODES[code].status;
    this.subcode = wire?.subcode ?? ERROR_CODES[code].subcode;
    this.details = details;
  }

  get field(): string | undefined {
    return this.details.field;
  }
}

export class InvalidRequestError extends AppGatewayError {}
export class AuthenticationError extends AppGatewayError {}
export class PermissionError extends AppGatewayError {}
export class NotFoundError extends AppGatewayError {}
export class InternalError extends AppGatewayError {}
/** The request never got an answer (refused, reset, timed out). */
export class ConnectionError extends AppGatewayError {}
/** The gateway answered something that is not the documented shape. */
export class BadResponseError extends AppGatewayError {}

const BY_STATUS: Record<number, typeof AppGatewayError> = {
  400: InvalidRequestError,
  401: AuthenticationError,
  403: PermissionError,
  404: NotFoundError,
  500: InternalError,
};

/** The one factory: picks the subclass from the status. */
export function appgwError(
  code: ErrorCode,
  message?: string,
  details: ErrorDetails = {},
  wire?: { status: number; subcode: number },
): AppGatewayError {
  if (code === "APPGW_CONNECTION") return new ConnectionError(code, message, details, wire);
  if (code === "APPGW_BAD_RESPONSE") return new BadResponseError(code, message, details, wire);
  const status = wire?.status ?? ERROR_CODES[code].status;
  const Cls = BY_STATUS[status] ?? (status >= 500 ? InternalError : AppGatewayError);
  return new Cls(code, message, details, wire);
}

const DOCUMENTED = new Map<string, ErrorCode>(
  (Object.keys(ERROR_CODES) as ErrorCode[])
    .filter((c) => ERROR_CODES[c].documented)
    .map((c) => [`${ERROR_CODES[c].status}/${ERROR_CODES[c].subcode}`, c]),
);

/**
 * The code of an error answer, from `result_code` and `result_subcode` only: a documented pair
 * gives its own code, anything else the generic code of its status (429 included).
 */
export function classify(status: number, subcode: number): ErrorCode {
  const known = DOCUMENTED.get(`${status}/${subcode}`);
  if (known) return known;
  if (status === 400) return "APPGW_BAD_REQUEST";
  if (status === 401) return "APPGW_UNAUTHORIZED";
  if (status === 403) return "APPGW_FORBIDDEN";
  if (status === 404) return "APPGW_UNKNOWN_ENDPOINT";
  // Not a ClearML code, but the meaning of the status is standard: wait `Retry-After`.
  if (status === 429) return "APPGW_TOO_MANY_REQUESTS";
  if (status >= 500) return "APPGW_INTERNAL";
  return "APPGW_BAD_RESPONSE";
}

/** The message of an error, whatever was thrown. */
export const messageOf = (err: unknown): string =>
  err instanceof Error ? err.message : String(err);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

/** True when `err` carries `code`, whichever copy of this module made it. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === code;
}

/** True for a 401 of any kind: the token is missing, expired, revoked or not ours. */
export function isAuthFailure(err: unknown): boolean {
  return (
    typeof err === "object" && err !== null && (err as { statusCode?: unknown }).statusCode === 401
  );
}
