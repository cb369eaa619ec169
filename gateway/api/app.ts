// The control API: ClearML's `POST|GET /[v<major>.<minor>/]<service>.<action>` with its
// `{meta, data}` envelope. Requests are validated with the shared contract; every failure, ours
// or fastify's, leaves as an envelope whose `result_code`/`result_subcode` are ClearML's.
// `buildApp` builds; the caller listens (gateway/main.ts, tests).
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { actions, type ActionName } from "@appgw/sdk/contract";
import { TOKENS } from "../token-format";
import { AppGatewayError, appgwError } from "@appgw/sdk/errors";
import { registerConsole } from "../console";
import { LoginGuard } from "../login-guard";
import { Store } from "../store";
import { handlers, type Ctx, type Principal } from "./handlers";
import { mayCall } from "./policy";
import { resolveApiSettings, type ApiSettings } from "./settings";
import { TokenService, verifySecret } from "./tokens";
import { API_VERSION } from "./version";

export interface ApiOptions extends ApiSettings {
  /** Folder of the SQLite file. */
  dataDir: string;
  logger?: Logger | boolean;
}

export interface ApiApp {
  app: FastifyInstance;
  store: Store;
  tokens: TokenService;
}

const BODY_LIMIT = 1024 * 1024;

interface Params {
  version?: string;
  action: string;
}

export async function buildApp(opts: ApiOptions): Promise<ApiApp> {
  const { tokenTtlSec, timeouts, trustedProxies } = resolveApiSettings(opts);
  const store = new Store(opts.dataDir, { filterBudgetMs: opts.filterBudgetMs });
  const tokens = await TokenService.load(store);
  const app = Fastify({
    loggerInstance: typeof opts.logger === "object" ? opts.logger : undefined,
    logger: typeof opts.logger === "boolean" ? opts.logger : undefined,
    bodyLimit: BODY_LIMIT,
    // Node checks the header and request deadlines on this interval (30 s by default, which
    // would let a slow client stay that much longer); it is one pass over open connections.
    http: { headersTimeout: timeouts.headersSec * 1000, connectionsCheckingInterval: 1000 },
    requestTimeout: timeouts.requestSec * 1000,
    connectionTimeout: timeouts.idleSec * 1000,
    keepAliveTimeout: timeouts.idleSec * 1000,
    trustProxy: trustedProxies,
    genReqId: () => randomUUID().replace(/-/g, ""),
  }) as unknown as FastifyInstance;
  const settings = { tokenTtlSec };
  const logins = new LoginGuard(opts.loginLimits);

  // An empty body means `{}`; anything else must be JSON.
  app.addContentTypeParser(
    ["application/json", "text/plain", "application/x-www-form-urlencoded"],
    { parseAs: "string" },
    (_req, body, done) => {
      try {
        done(null, parseJsonBody(String(body)));
      } catch (err) {
        done(err as Error);
      }
    },
  );

  // Batch calls (`events.add_batch`): one JSON object a line, as ClearML's clients send them;
  // the handler sees them as `{requests: [...]}`.
  app.addContentTypeParser("application/json-lines", { parseAs: "string" }, (_req, body, done) => {
    try {
      const lines = String(body)
        .split("\n")
        .filter((line) => line.trim());
      done(null, { requests: lines.map(parseJsonBody) });
    } catch (err) {
      done(err as Error);
    }
  });

  const shutdown = new AbortController();
  app.addHook("preClose", async () => shutdown.abort());

  app.get(TOKENS.jwksPath, async () => tokens.jwks());
  app.get("/health", async () => ({ status: "ok" }));

  const call = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const { action, version } = req.params;
    if (version !== undefined && !knownVersion(version)) {
      throw appgwError("APPGW_UNKNOWN_ENDPOINT", `unknown API version '${version}'`, {
        field: "version",
        reason: `the highest version served is ${API_VERSION}`,
      });
    }
    if (!Object.prototype.hasOwnProperty.call(actions, action)) {
      throw appgwError("APPGW_UNKNOWN_ENDPOINT", `unknown endpoint '${action}'`, {
        field: "endpoint",
      });
    }
    const name = action as ActionName;
    const user =
      name === "auth.login"
        ? await basicAuth(req, store, logins)
        : await bearerAuth(req, store, tokens);
    if (!mayCall(name, user)) {
      throw appgwError("APPGW_FORBIDDEN", `'${name}' needs the admin role`, {
        field: "authorization",
        reason: `role '${user.role}' is not allowed`,
      });
    }
    const raw =
      req.method === "GET" ? { ...queryParams(req.query), ...(await getBody(req)) } : req.body;
    const body = parseBody(name, raw ?? {});
    // Long polls stop when the client goes away or the gateway shuts down.
    const gone = new AbortController();
    reply.raw.on("close", () => gone.abort());
    const signal = AbortSignal.any([gone.signal, shutdown.signal]);
    const ctx: Ctx = { user, store, tokens, settings, signal, headers: req.headers };
    const handler = handlers[name] as (b: unknown, c: Ctx) => unknown;
    const data = await handler(body, ctx);
    return reply.code(200).send({ meta: meta(req, 200), data: data ?? {} });
  };
  for (const url of ["/:action", "/:version/:action"]) {
    app.route<{ Params: Params }>({ method: ["GET", "POST"], url, handler: call });
  }

  app.setNotFoundHandler((req, reply) =>
    sendError(
      req,
      reply,
      appgwError(
        "APPGW_UNKNOWN_ENDPOINT",
        `unknown endpoint ${req.method} ${req.url.split("?")[0]}`,
      ),
    ),
  );

  app.setErrorHandler((error, req, reply) => {
    if (error instanceof AppGatewayError) return sendError(req, reply, error);
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      // fastify's own refusals: body too large, bad content type.
      const message = (error as Error).message;
      return sendError(
        req,
        reply,
        appgwError("APPGW_INVALID_REQUEST", message, { field: "body", reason: message }),
      );
    }
    req.log.error({ err: error }, "unhandled error");
    return sendError(
      req,
      reply,
      appgwError("APPGW_INTERNAL", "internal error; see the gateway log"),
    );
  });

  app.addHook("onClose", async () => store.close());

  // The settings page: a client of the routes above, served beside them in a context of its own
  // (its form parser, its HTML error pages). Registered last: loading a plugin also settles the
  // routes declared before it, which must have the API's error handler by then.
  if (opts.console !== false) await app.register(registerConsole, opts.console ?? {});

  return { app, store, tokens };
}

/** `v<major>.<minor>` no higher than the version served. */
function knownVersion(version: string): boolean {
  const m = /^v(\d+)\.(\d+)$/.exec(version);
  if (!m) return false;
  const [major, minor] = API_VERSION.split(".").map(Number) as [number, number];
  const [wantMajor, wantMinor] = [Number(m[1]), Number(m[2])];
  return wantMajor < major || (wantMajor === major && wantMinor <= minor);
}

function parseJsonBody(text: string): unknown {
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw appgwError("APPGW_INVALID_REQUEST", "body: is not valid JSON", {
      field: "body",
      reason: "invalid JSON",
    });
  }
}

/**
 * A GET carries its fields in the query string (`?expiration_sec=3600`), or as a JSON body as
 * ClearML's Python SDK sends them. Query values are read as JSON when they parse as such.
 */
function queryParams(query: unknown): Record<string, unknown> {
  const asValue = (v: unknown) => {
    if (typeof v !== "string") return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  };
  return Object.fromEntries(
    Object.entries((query ?? {}) as Record<string, unknown>).map(([k, v]) => [
      k,
      Array.isArray(v) ? v.map(asValue) : asValue(v),
    ]),
  );
}

function hasBody(req: FastifyRequest): boolean {
  const { "content-length": length, "transfer-encoding": chunked } = req.headers;
  return chunked !== undefined || (length !== undefined && length !== "0");
}

/** fastify parses no body on GET: read it here, within the same size limit. */
async function getBody(req: FastifyRequest): Promise<Record<string, unknown>> {
  if (!hasBody(req)) return {};
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.raw) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) {
      throw appgwError("APPGW_INVALID_REQUEST", "body: is too large", {
        field: "body",
        reason: `more than ${BODY_LIMIT} bytes`,
      });
    }
    chunks.push(chunk as Buffer);
  }
  const parsed = parseJsonBody(Buffer.concat(chunks).toString());
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw appgwError("APPGW_INVALID_REQUEST", "body: must be a JSON object", {
      field: "body",
      reason: "not an object",
    });
  }
  return parsed as Record<string, unknown>;
}

/**
 * The request as the contract parses it. Its schemas strip fields they do not know, at any
 * depth, as ClearML's server ignores them: its clients add their own (`method` on every typed
 * request, `search_hidden` on listings). Every field the action uses is still validated. The
 * first problem is reported: a required field that is absent as 400/11, anything else as
 * 400/12, with the field's dotted path and the reason.
 */
function parseBody(action: ActionName, body: unknown): unknown {
  const result = actions[action].request.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path ?? [];
  const field = path.length ? path.join(".") : "body";
  if (issue?.code === "invalid_type" && path.length && valueAt(body, path) === undefined) {
    throw appgwError("APPGW_MISSING_FIELDS", `${field}: is required`, {
      field,
      reason: "is required",
    });
  }
  const reason = issue?.message ?? "is invalid";
  throw appgwError("APPGW_INVALID_REQUEST", `${field}: ${reason}`, { field, reason });
}

function valueAt(body: unknown, path: PropertyKey[]): unknown {
  let v = body;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/**
 * `auth.login`: HTTP Basic `access_key:secret_key`, as ClearML takes it. Failed logins are
 * limited per key and client address and per address (gateway/login-guard.ts); over a limit,
 * the secret is not even checked.
 */
async function basicAuth(
  req: FastifyRequest,
  store: Store,
  logins: LoginGuard,
): Promise<Principal> {
  const header = req.headers.authorization;
  if (!header) {
    throw appgwError(
      "APPGW_UNAUTHORIZED",
      "auth.login needs HTTP Basic credentials (access_key:secret_key)",
      { field: "authorization", reason: "missing" },
    );
  }
  const match = /^Basic\s+(\S+)$/i.exec(header);
  const decoded = match?.[1] ? Buffer.from(match[1], "base64").toString() : "";
  const sep = decoded.indexOf(":");
  if (sep <= 0) {
    throw appgwError(
      "APPGW_BAD_CREDENTIALS",
      "malformed credentials: send 'Authorization: Basic base64(access_key:secret_key)'",
      { field: "authorization", reason: "malformed" },
    );
  }
  const accessKey = decoded.slice(0, sep);
  const retryAfter = await logins.attempt(accessKey, req.ip);
  if (retryAfter > 0) {
    throw appgwError(
      "APPGW_TOO_MANY_REQUESTS",
      `too many failed logins; try again in ${retryAfter} s`,
      { field: "authorization", reason: "too many failed logins", retry_after: retryAfter },
    );
  }
  const creds = store.users.credentials(accessKey);
  const user = creds && store.users.byId(creds.userId);
  const valid =
    creds !== undefined &&
    user !== undefined &&
    (creds.expire === null || Date.parse(creds.expire) > Date.now()) &&
    (await verifySecret(decoded.slice(sep + 1), creds.secretHash));
  if (!valid) {
    throw appgwError("APPGW_INVALID_CREDENTIALS", "invalid access key or secret key", {
      field: "authorization",
      reason: "invalid credentials",
    });
  }
  await logins.succeeded(accessKey, req.ip);
  return { id: user.id, name: user.name, role: user.role, service: user.service };
}

async function bearerAuth(
  req: FastifyRequest,
  store: Store,
  tokens: TokenService,
): Promise<Principal> {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
  if (!match?.[1]) {
    throw appgwError(
      "APPGW_UNAUTHORIZED",
      "missing token: send 'Authorization: Bearer <token>' from auth.login",
      { field: "authorization", reason: "missing" },
    );
  }
  const claims = await tokens.verify(match[1]);
  // The user's role comes from the store, not the token; a deleted user's token stops at once.
  const user = store.users.byId(claims.sub);
  if (!user) {
    throw appgwError("APPGW_INVALID_TOKEN", "the token's user no longer exists", {
      field: "authorization",
      reason: "unknown user",
    });
  }
  return {
    id: user.id,
    name: user.name,
    role: user.role,
    service: user.service,
    tokenExp: claims.exp,
  };
}

/** The endpoint a request named, and the version it asked for (the URL, whatever its route). */
function endpointOf(req: FastifyRequest): { name: string; requested: string } {
  const parts = req.url.split("?")[0]?.split("/").filter(Boolean) ?? [];
  const versioned = parts.length === 2 && /^v\d+\.\d+$/.test(parts[0] ?? "");
  return {
    name: (versioned ? parts[1] : parts.join("/")) ?? "",
    requested: versioned ? (parts[0] as string).slice(1) : API_VERSION,
  };
}

function meta(req: FastifyRequest, status: number, err?: AppGatewayError) {
  const { name, requested } = endpointOf(req);
  const trx = req.headers["x-clearml-trx"];
  return {
    id: String(req.id),
    trx: typeof trx === "string" && trx ? trx : String(req.id),
    endpoint: { name, requested_version: requested, actual_version: API_VERSION },
    result_code: status,
    result_subcode: err?.subcode ?? 0,
    result_msg: err?.message ?? "OK",
    error_stack: null,
    error_data: err ? { code: err.code, ...err.details } : {},
  };
}

function sendError(req: FastifyRequest, reply: FastifyReply, err: AppGatewayError) {
  const status = err.statusCode || 500;
  if (status === 401) reply.header("www-authenticate", 'Bearer realm="appgw"');
  if (typeof err.details.retry_after === "number") {
    reply.header("retry-after", String(err.details.retry_after));
  }
  // Answered before the body was read (a GET refused before getBody, a body too large): close
  // rather than let Node read the rest of it, however large, to keep the connection.
  if (!req.raw.complete && hasBody(req)) reply.header("connection", "close");
  return reply.code(status).send({ meta: meta(req, status, err), data: {} });
}
