// One error hierarchy for the gateway and its clients. The gateway throws these, serialises them
// into the ClearML envelope (`result_code`, `result_subcode`, `result_msg`, `error_data.code`),
// and the SDK rebuilds the same class from the envelope. Match on `code`, never on `instanceof`:
// a serialized Pulumi provider can load a second copy of this module.
//
// This file has no imports on purpose: the gateway, the SDK and the provider all load it.

/** Every stable code, its HTTP status and its ClearML-style numeric subcode. */
export const ERROR_CODES = {
  APPGW_INVALID_REQUEST: { status: 400, subcode: 1, message: "Invalid request" },
  APPGW_TEST_INSECURE: { status: 400, subcode: 2, message: "Router test needs HTTPS" },
  APPGW_UNAUTHORIZED: { status: 401, subcode: 20, message: "Missing or invalid token" },
  APPGW_BAD_CREDENTIALS: { status: 401, subcode: 21, message: "Invalid access key or secret" },
  APPGW_TOKEN_EXPIRED: { status: 401, subcode: 22, message: "Token expired" },
  APPGW_FORBIDDEN: { status: 403, subcode: 30, message: "Not allowed" },
  APPGW_UNKNOWN_ACTION: { status: 404, subcode: 40, message: "Unknown action" },
  APPGW_ROUTE_NOT_FOUND: { status: 404, subcode: 41, message: "Route not found" },
  APPGW_GROUP_NOT_FOUND: { status: 404, subcode: 42, message: "Group not found" },
  APPGW_USER_NOT_FOUND: { status: 404, subcode: 43, message: "User not found" },
  APPGW_TASK_NOT_FOUND: { status: 404, subcode: 44, message: "Task not found" },
  APPGW_QUEUE_NOT_FOUND: { status: 404, subcode: 45, message: "Queue not found" },
  APPGW_ROUTER_NOT_FOUND: { status: 404, subcode: 46, message: "Router not found" },
  APPGW_TEST_NOT_FOUND: { status: 404, subcode: 47, message: "No router test has run" },
  APPGW_ROUTE_ENABLED: { status: 409, subcode: 60, message: "Route is enabled" },
  APPGW_ROUTE_NAME_TAKEN: { status: 409, subcode: 61, message: "Route name taken" },
  APPGW_ROUTE_PATH_TAKEN: { status: 409, subcode: 62, message: "Route path taken" },
  APPGW_ROUTE_SUBDOMAIN_TAKEN: { status: 409, subcode: 63, message: "Route subdomain taken" },
  APPGW_ROUTE_BUSY: { status: 409, subcode: 64, message: "Single-endpoint route in use" },
  APPGW_GROUP_NAME_TAKEN: { status: 409, subcode: 65, message: "Group name taken" },
  APPGW_GROUP_SYSTEM: { status: 409, subcode: 66, message: "Built-in group" },
  APPGW_USER_NAME_TAKEN: { status: 409, subcode: 67, message: "User name taken" },
  APPGW_QUEUE_NAME_TAKEN: { status: 409, subcode: 68, message: "Queue name taken" },
  APPGW_TASK_STATE: { status: 409, subcode: 69, message: "Task state does not allow this" },
  APPGW_TEST_RUNNING: { status: 409, subcode: 70, message: "A router test is running" },
  APPGW_INTERNAL: { status: 500, subcode: 90, message: "Internal error" },
  // The router's data plane answers with these (body `{"error": {"code", "message"}}`).
  APPGW_BAD_PATH: { status: 400, subcode: 100, message: "Bad request path" },
  APPGW_NO_ROUTE: { status: 404, subcode: 101, message: "No route for this address" },
  APPGW_METHOD_NOT_ALLOWED: { status: 405, subcode: 102, message: "Method not allowed" },
  APPGW_UPSTREAM_UNAVAILABLE: { status: 502, subcode: 103, message: "Upstream unavailable" },
  APPGW_NO_TARGET: { status: 503, subcode: 104, message: "No target is serving this route" },
  APPGW_AUTH_UNAVAILABLE: { status: 503, subcode: 105, message: "Cannot verify tokens right now" },
  APPGW_UPSTREAM_TIMEOUT: { status: 504, subcode: 106, message: "Upstream timed out" },
  APPGW_BAD_HEADER: { status: 400, subcode: 107, message: "Malformed or repeated request header" },
  // Client-side failures: the SDK raises these, the gateway never sends them.
  APPGW_CONNECTION: { status: 0, subcode: 0, message: "Gateway unreachable" },
  APPGW_BAD_RESPONSE: { status: 0, subcode: 0, message: "Unexpected response" },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetails {
  /** The request field at fault, as a dotted path (`load_balancer.enabled`). */
  field?: string;
  /** Why the field or the request was refused, for a person. */
  reason?: string;
  /** Anything else worth keeping (the object holding a taken name, ...). */
  [key: string]: unknown;
}

/** Base of every gateway error. */
export class AppGatewayError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly subcode: number;
  readonly details: ErrorDetails;
  /** The `meta.id` of the failed call, when the gateway answered. */
  requestId?: string;
  /** `service.action` of the failed call, when known. */
  endpoint?: string;

  constructor(code: ErrorCode, message?: string, details: ErrorDetails = {}) {
    super(message ?? ERROR_CODES[code].message);
    this.name = new.target.name;
    this.code = code;
    this.statusCode = ERROR_CODES[code].status;
    this.subcode = ERROR_CODES[code].subcode;
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
export class ConflictError extends AppGatewayError {}
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
  409: ConflictError,
  500: InternalError,
};

/** The one factory: picks the subclass from the code's status. */
export function appgwError(
  code: ErrorCode,
  message?: string,
  details: ErrorDetails = {},
): AppGatewayError {
  if (code === "APPGW_CONNECTION") return new ConnectionError(code, message, details);
  if (code === "APPGW_BAD_RESPONSE") return new BadResponseError(code, message, details);
  const Cls = BY_STATUS[ERROR_CODES[code].status] ?? AppGatewayError;
  return new Cls(code, message, details);
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

/** True when `err` carries `code`, whichever copy of this module made it. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === code;
}
