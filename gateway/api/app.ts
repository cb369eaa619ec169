// The control API: `POST /<service>.<action>` with ClearML's `{meta, data}` envelope. Requests are
// validated with the shared contract; every failure, ours or fastify's, leaves as an envelope
// with a stable code. `buildApp` builds; the caller listens (gateway/main.ts, tests).
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { ZodError } from "zod";
import { actions, TOKENS, USER_ACTIONS, type ActionName } from "../../sdk/contract";
import { AppGatewayError, appgwError } from "../../sdk/errors";
import { Store } from "../store";
import { handlers, type Ctx, type Principal } from "./handlers";
import { TestRunner } from "./router-test";
import { TokenService, verifySecret } from "./tokens";

export const API_VERSION = "2.30";

export interface ApiOptions {
  /** Folder of the SQLite file. */
  dataDir: string;
  /** Lifetime of tokens from `auth.login`, seconds. Default 12 h. */
  tokenTtlSec?: number;
  /** Allow router tests over plain HTTP to non-loopback routers (ClearML requires HTTPS). */
  allowInsecureTests?: boolean;
  logger?: Logger | boolean;
}

export interface ApiApp {
  app: FastifyInstance;
  store: Store;
  tokens: TokenService;
}

export async function buildApp(opts: ApiOptions): Promise<ApiApp> {
  const store = new Store(opts.dataDir);
  const tokens = await TokenService.load(store);
  const app = Fastify({
    loggerInstance: typeof opts.logger === "object" ? opts.logger : undefined,
    logger: typeof opts.logger === "boolean" ? opts.logger : undefined,
    bodyLimit: 1024 * 1024,
    // Long polls (`routers.get_config`, `queues.get_next_task`) hold requests up to 30 s.
    requestTimeout: 60_000,
    genReqId: () => randomUUID().replace(/-/g, ""),
  }) as unknown as FastifyInstance;
  const tests = new TestRunner(store, tokens, app.log);
  const settings = {
    tokenTtlSec: opts.tokenTtlSec ?? 12 * 3600,
    allowInsecureTests: opts.allowInsecureTests ?? false,
  };

  // An empty body means `{}`; anything else must be JSON.
  app.addContentTypeParser(
    ["application/json", "text/plain", "application/x-www-form-urlencoded"],
    { parseAs: "string" },
    (_req, body, done) => {
      const text = String(body).trim();
      if (!text) return done(null, {});
      try {
        done(null, JSON.parse(text));
      } catch {
        done(
          appgwError("APPGW_INVALID_REQUEST", "body is not valid JSON", {
            field: "body",
            reason: "invalid JSON",
          }),
        );
      }
    },
  );

  const shutdown = new AbortController();
  app.addHook("preClose", async () => shutdown.abort());

  app.get(TOKENS.jwksPath, async () => tokens.jwks());
  app.get("/health", async () => ({ status: "ok" }));

  app.post<{ Params: { action: string } }>("/:action", async (req, reply) => {
    const action = req.params.action;
    if (!Object.prototype.hasOwnProperty.call(actions, action)) {
      throw appgwError("APPGW_UNKNOWN_ACTION", `unknown action '${action}'`, { field: "action" });
    }
    const name = action as ActionName;
    const principal =
      name === "auth.login" ? await basicAuth(req, store) : await bearerAuth(req, store, tokens);
    if (!principal.admin && !USER_ACTIONS.has(name)) {
      throw appgwError("APPGW_FORBIDDEN", `'${name}' needs an administrator`, {
        field: "authorization",
      });
    }
    const body = parseBody(name, req.body);
    // Long polls stop when the client goes away or the gateway shuts down.
    const gone = new AbortController();
    reply.raw.on("close", () => gone.abort());
    const signal = AbortSignal.any([gone.signal, shutdown.signal]);
    const ctx: Ctx = { user: principal, store, tokens, tests, settings, signal };
    const handler = handlers[name] as (b: unknown, c: Ctx) => unknown;
    const data = await handler(body, ctx);
    return envelope(req, reply, name, 200, data ?? {});
  });

  app.setNotFoundHandler((req, reply) => {
    const err = appgwError("APPGW_UNKNOWN_ACTION", `unknown endpoint ${req.method} ${req.url}`);
    return sendError(req, reply, err);
  });

  app.setErrorHandler((error, req, reply) => {
    if (error instanceof AppGatewayError) return sendError(req, reply, error);
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      // fastify's own refusals: body too large, bad content type, malformed JSON.
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

  app.addHook("onClose", async () => {
    await tests.close();
    store.close();
  });

  return { app, store, tokens };
}

function parseBody(action: ActionName, body: unknown): unknown {
  try {
    return actions[action].request.parse(body ?? {});
  } catch (err) {
    if (!(err instanceof ZodError)) throw err;
    const issue = err.issues[0];
    const field = issue?.path.length ? issue.path.join(".") : "body";
    let reason = issue?.message ?? "is invalid";
    if (issue?.code === "unrecognized_keys") reason = `unknown field(s): ${issue.keys.join(", ")}`;
    throw appgwError("APPGW_INVALID_REQUEST", `${field}: ${reason}`, { field, reason });
  }
}

async function basicAuth(req: FastifyRequest, store: Store): Promise<Principal> {
  const header = req.headers.authorization ?? "";
  const [scheme, value] = header.split(" ");
  if (scheme?.toLowerCase() !== "basic" || !value) {
    throw appgwError(
      "APPGW_BAD_CREDENTIALS",
      "auth.login needs HTTP Basic credentials (access_key:secret_key)",
      {
        field: "authorization",
      },
    );
  }
  const decoded = Buffer.from(value, "base64").toString();
  const sep = decoded.indexOf(":");
  const user = sep > 0 ? store.users.byAccessKey(decoded.slice(0, sep)) : undefined;
  if (!user || !(await verifySecret(decoded.slice(sep + 1), user.secretHash))) {
    throw appgwError("APPGW_BAD_CREDENTIALS", "invalid access key or secret key", {
      field: "authorization",
    });
  }
  return { id: user.id, name: user.name, admin: user.admin };
}

async function bearerAuth(
  req: FastifyRequest,
  store: Store,
  tokens: TokenService,
): Promise<Principal> {
  const header = req.headers.authorization ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) {
    throw appgwError(
      "APPGW_UNAUTHORIZED",
      "missing token: send 'Authorization: Bearer <token>' from auth.login",
      {
        field: "authorization",
      },
    );
  }
  const claims = await tokens.verify(match[1]);
  // A token outlives nothing: a deleted user's token stops working at once.
  const user = store.users.byId(claims.sub);
  if (!user)
    throw appgwError("APPGW_UNAUTHORIZED", "the token's user no longer exists", {
      field: "authorization",
    });
  return { id: user.id, name: user.name, admin: user.admin };
}

function meta(req: FastifyRequest, action: string, status: number, err?: AppGatewayError) {
  return {
    id: String(req.id),
    trx: String(req.id),
    endpoint: { name: action, requested_version: API_VERSION, actual_version: API_VERSION },
    result_code: status,
    result_subcode: err?.subcode ?? 0,
    result_msg: err?.message ?? "OK",
    error_data: err ? { code: err.code, ...err.details } : {},
  };
}

function envelope(
  req: FastifyRequest,
  reply: FastifyReply,
  action: string,
  status: number,
  data: unknown,
) {
  return reply.code(status).send({ meta: meta(req, action, status), data });
}

function sendError(req: FastifyRequest, reply: FastifyReply, err: AppGatewayError) {
  const action = (req.params as { action?: string } | undefined)?.action ?? req.url;
  const status = err.statusCode || 500;
  if (status === 401) reply.header("www-authenticate", 'Bearer realm="appgw"');
  return reply.code(status).send({ meta: meta(req, action, status, err), data: {} });
}
