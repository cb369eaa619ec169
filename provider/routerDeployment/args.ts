// RouterDeployment's arguments as one zod schema: every check, each problem reported as
// `arg: reason` naming the argument, and every default, so the component builds its objects
// from complete, normalised settings. Values that are Outputs or promises exist only at `up`:
// they pass unchecked (`known`), and the component uses them as they are.
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type {
  RouterDeploymentArgs,
  RouterFlavour,
  RouterIngressArgs,
  RouterNetworkPolicyArgs,
} from "../routerDeployment";
import { MANAGED_ENV } from "./env";

type EnvVar = k8s.types.input.core.v1.EnvVar;
type ResourceRequirements = k8s.types.input.core.v1.ResourceRequirements;

/**
 * Defaults of RouterDeployment.
 *
 * The reference flavour has no default image: no image of the reference router is published.
 * Build one with `gateway/Dockerfile` and set `images.router` (see RouterImagesArgs).
 *
 * ClearML's image names are those of ClearML's docker-compose guide for the AI Application
 * Gateway (`clearml/ai-gateway-router`, `clearml/ai-gateway-proxy`), with the tags that guide
 * shows as an example (ROUTER_TAG=2.14.0, PROXY_TAG=1.8.1). ClearML hands out the tags that
 * match a server; set them in `images`. The Kubernetes chart (clearml-enterprise-app-gateway)
 * is not public, so whether it uses the same names could not be checked.
 */
export const ROUTER_DEPLOYMENT_DEFAULTS = {
  namespace: "appgw",
  authCookieName: "appgw_token",
  authSecureEnabled: true,
  port: 8080,
  replicas: 1,
  flavour: "reference" as RouterFlavour,
  healthCheckPath: "/_appgw/health",
  tcpServiceType: "NodePort" as const,
  registrationTimeoutSec: 300,
  resources: {
    requests: { cpu: "100m", memory: "128Mi" },
    // No CPU limit: throttling a proxy adds latency to every request it carries.
    limits: { memory: "512Mi" },
  },
  images: {
    clearml: {
      router: "clearml/ai-gateway-router:2.14.0",
      proxy: "clearml/ai-gateway-proxy:1.8.1",
    },
  },
};

/** The arguments were refused; `issues` lists each problem as `arg: reason`. */
export class RouterDeploymentArgsError extends Error {
  constructor(
    name: string,
    readonly issues: string[],
  ) {
    super(
      `RouterDeployment '${name}' has invalid arguments:\n${issues.map((i) => `  - ${i}`).join("\n")}`,
    );
    this.name = "RouterDeploymentArgsError";
  }
}

/** The arguments with every default applied and one key pair: what the component builds from. */
export type RouterDeploymentSettings = CommonSettings & FlavourSettings;

interface CommonSettings {
  namespace: pulumi.Input<string>;
  createNamespace: boolean;
  routerName: pulumi.Input<string>;
  externalUrl: pulumi.Input<string>;
  apiHost: pulumi.Input<string>;
  /** The router's one key pair: a service account's, or the one given directly. */
  credentials: { accessKey: pulumi.Input<string>; secretKey: pulumi.Input<string> };
  authCookieName: pulumi.Input<string>;
  authSecureEnabled: pulumi.Input<boolean>;
  listenQueues?: pulumi.Input<pulumi.Input<string>[]>;
  domain?: pulumi.Input<string>;
  port: pulumi.Input<number>;
  tcp?: {
    address: pulumi.Input<string>;
    portStart: pulumi.Input<number>;
    portEnd: pulumi.Input<number>;
    serviceType: pulumi.Input<"NodePort" | "LoadBalancer">;
  };
  ingress?: RouterIngressArgs;
  /** `false`: no NetworkPolicy. */
  networkPolicy: false | RouterNetworkPolicyArgs;
  replicas: pulumi.Input<number>;
  resources: pulumi.Input<ResourceRequirements>;
  imagePullSecrets?: pulumi.Input<pulumi.Input<string>[]>;
  labels: pulumi.Input<Record<string, pulumi.Input<string>>>;
  serviceAccountName?: pulumi.Input<string>;
  extraEnv: pulumi.Input<pulumi.Input<EnvVar>[]>;
  waitForRegistration?: { timeoutSec: pulumi.Input<number> };
}

type FlavourSettings =
  | {
      flavour: "reference";
      images: { router: pulumi.Input<string> };
      healthCheckPath: pulumi.Input<string>;
    }
  | {
      flavour: "clearml";
      images: { router: pulumi.Input<string>; proxy: pulumi.Input<string> };
      /** Unset: the proxy is probed by a TCP connect. */
      healthCheckPath?: pulumi.Input<string>;
    };

// --- the pieces of the schema -----------------------------------------------------------------

/** A value given directly, not an Output or a promise: only those can be checked up front. */
const known = <T>(v: pulumi.Input<T> | undefined): v is T =>
  v !== undefined && !pulumi.Output.isInstance(v) && !(v instanceof Promise);

/**
 * An argument that is a `pulumi.Input`: checked by `schema` when given directly, passed through
 * unchecked when it is an Output or a promise. Undefined reaches `schema`, so a bare `input()`
 * is required; `.optional()` and `.default()` make it neither.
 */
function input<S extends z.ZodType>(schema: S) {
  return z.unknown().transform((v, ctx): pulumi.Input<z.output<S>> => {
    // zod would await a promise a transform returns: as an Output it stays a value for `up`.
    if (v instanceof Promise) return pulumi.output(v) as pulumi.Output<z.output<S>>;
    if (v !== undefined && !known(v)) return v as pulumi.Input<z.output<S>>;
    return within(schema, v, ctx);
  });
}

/**
 * `v` parsed by `schema` inside a transform, its problems reported where `v` is (the parents
 * prefix the path). A refused value is returned as it is: the settings are never built from it.
 */
function within<S extends z.ZodType>(schema: S, v: unknown, ctx: z.RefinementCtx): z.output<S> {
  const result = schema.safeParse(v);
  if (result.success) return result.data;
  for (const issue of result.error.issues) ctx.addIssue({ ...issue } as z.core.$ZodRawIssue);
  return v as z.output<S>;
}

/** `<reason>, got '<value>'`, or the reason's own wording when it is a function. */
type Reason = string | ((got: unknown) => string);
const say = (reason: Reason, v: unknown) =>
  typeof reason === "string" ? `${reason}, got '${String(v)}'` : reason(v);

/** A string that `ok` accepts; anything else is refused with `reason`, a missing one as required. */
const text = (ok: RegExp | ((s: string) => boolean), reason: Reason) =>
  z
    .string({ error: (i) => (i.input === undefined ? "is required" : say(reason, i.input)) })
    .refine((s) => (typeof ok === "function" ? ok(s) : ok.test(s)), {
      error: (i) => say(reason, i.input),
    });

/** An integer from `min` up to `max`; anything else is refused as `<reason>, got <value>`. */
const integer = (reason: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
  const message = (v: unknown) => (v === undefined ? "is required" : `${reason}, got ${String(v)}`);
  return z
    .number({ error: (i) => message(i.input) })
    .refine((n) => Number.isInteger(n) && n >= min && n <= max, {
      error: (i) => message(i.input),
    });
};

const boolean = () => z.boolean({ error: (i) => say("must be true or false", i.input) });

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** RFC 6265 cookie-name: an HTTP token. */
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);
const SELECTOR_KEYS = ["app.kubernetes.io/name", "app.kubernetes.io/instance"];
const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];
const DEFAULT_NODE_PORTS = { start: 30000, end: 32767 };

function httpUrl(raw: unknown): URL | undefined {
  if (typeof raw !== "string") return undefined;
  try {
    const url = new URL(raw);
    return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
  } catch {
    return undefined;
  }
}

const isPort = (n: unknown): n is number =>
  Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const dnsLabel = (s: string) => DNS_LABEL.test(s) && s.length <= 63;
const port = integer("must be an integer 1-65535", 1, 65535);
const url = () => text((s) => httpUrl(s) !== undefined, "must be an http(s) URL");
const nonEmpty = text(
  (s) => s.trim() !== "",
  () => "must be a non-empty string",
);
const image = text((s) => s !== "" && !/\s/.test(s), "must be an image reference");

const tcpSchema = z
  .object(
    {
      address: input(
        text(
          (s) => s !== "" && !/[\s/@]/.test(s),
          "must be a host name or IP address (no scheme or port)",
        ),
      ),
      portStart: input(port),
      portEnd: input(port),
      serviceType: input(
        z.enum(["NodePort", "LoadBalancer"], {
          error: (i) => say("must be 'NodePort' or 'LoadBalancer'", i.input),
        }),
      ).default(ROUTER_DEPLOYMENT_DEFAULTS.tcpServiceType),
    },
    { error: "must be an object with address, portStart and portEnd" },
  )
  .superRefine(
    ({ portStart, portEnd }, ctx) => {
      if (isPort(portStart) && isPort(portEnd) && portStart > portEnd) {
        ctx.addIssue({
          code: "custom",
          path: ["portStart"],
          message: `(${portStart}) must not be above tcp.portEnd (${portEnd})`,
        });
      }
    },
    // Also when another TCP setting is refused: every problem is reported at once.
    { when: (payload) => isObject(payload.value) },
  );

const ingressSchema = z.object(
  {
    host: input(
      text((s) => DNS_SUBDOMAIN.test(s.replace(/^\*\./, "")), "must be a lower-case DNS name"),
    ),
    className: input(text(DNS_SUBDOMAIN, "must be a DNS name")).optional(),
    tlsSecretName: input(text(DNS_SUBDOMAIN, "must be a Secret name (a DNS name)")).optional(),
    annotations: input(z.custom<Record<string, pulumi.Input<string>>>()).optional(),
  },
  { error: "must be an object with host, className, tlsSecretName and annotations" },
);

const networkPolicySchema = z.object(
  { ingressControllerNamespace: input(text(dnsLabel, "must be a namespace name")).optional() },
  { error: "must be true, false or an object with ingressControllerNamespace" },
);

const serviceAccountSchema = z.object(
  // A ServiceAccount's keys are Outputs: they are checked only when given as plain values.
  { accessKey: input(nonEmpty), secretKey: input(nonEmpty) },
  { error: "must be a ServiceAccount, or an object with accessKey and secretKey" },
);

/**
 * Every argument, in the order RouterDeploymentArgs declares them: problems are listed in that
 * order (`toIssues`).
 */
const shape = {
  namespace: input(text(dnsLabel, "must be a DNS label of at most 63 characters")).default(
    ROUTER_DEPLOYMENT_DEFAULTS.namespace,
  ),
  createNamespace: boolean().default(true),
  routerName: input(
    text(
      (s) => /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(s) && s.length <= 59,
      (v) =>
        `must be a DNS label of at most 59 characters (lower-case letters, digits and '-', starting with a ` +
        `letter): it names the Kubernetes objects, and '<routerName>-tcp' must fit in 63; got '${String(v)}'`,
    ),
  ),
  externalUrl: input(
    url().refine((s) => !httpUrl(s)?.search && !httpUrl(s)?.hash, {
      error: "must not have a query or fragment",
    }),
  ),
  apiHost: input(url()),
  serviceAccount: serviceAccountSchema.optional(),
  // Required unless serviceAccount is given (checked across arguments, below).
  accessKey: input(nonEmpty).optional(),
  secretKey: input(nonEmpty).optional(),
  authCookieName: input(
    text(
      (s) => COOKIE_NAME.test(s) && !s.startsWith("appgw_aff_"),
      "must be a cookie name (letters, digits and !#$%&'*+.^_`|~-) not starting with 'appgw_aff_'",
    ),
  ).default(ROUTER_DEPLOYMENT_DEFAULTS.authCookieName),
  authSecureEnabled: input(boolean()).default(ROUTER_DEPLOYMENT_DEFAULTS.authSecureEnabled),
  listenQueues: input(
    z
      .array(
        input(
          text(
            (s) => s !== "" && !/\s/.test(s) && s.length <= 128,
            "must be a queue name of 1-128 characters without spaces",
          ),
        ),
        { error: "must be a list of queue names" },
      )
      .max(64, { error: "must name at most 64 queues" }),
  ).optional(),
  domain: input(text(DNS_SUBDOMAIN, "must be a lower-case DNS name")).optional(),
  port: input(port).default(ROUTER_DEPLOYMENT_DEFAULTS.port),
  tcp: tcpSchema.optional(),
  ingress: ingressSchema.optional(),
  networkPolicy: z
    .unknown()
    .transform((v, ctx): false | RouterNetworkPolicyArgs =>
      v === false ? false : v === true ? {} : within(networkPolicySchema, v, ctx),
    )
    .optional(),
  replicas: input(integer("must be an integer of at least 1", 1)).default(
    ROUTER_DEPLOYMENT_DEFAULTS.replicas,
  ),
  resources: input(z.custom<ResourceRequirements>()).default(ROUTER_DEPLOYMENT_DEFAULTS.resources),
  flavour: z
    .enum(["reference", "clearml"], {
      error: (i) => say("must be 'reference' or 'clearml'", i.input),
    })
    .default(ROUTER_DEPLOYMENT_DEFAULTS.flavour),
  images: z
    .object(
      { router: input(image).optional(), proxy: input(image).optional() },
      { error: "must be an object with router and proxy" },
    )
    .optional(),
  imagePullSecrets: input(
    z.array(input(text(DNS_SUBDOMAIN, "must be a Secret name")), {
      error: "must be a list of Secret names",
    }),
  ).optional(),
  labels: input(
    z
      .record(z.string(), z.custom<pulumi.Input<string>>(), {
        error: "must map label names to values",
      })
      .superRefine((labels, ctx) => {
        for (const key of SELECTOR_KEYS) {
          if (key in labels) {
            ctx.addIssue({
              code: "custom",
              path: [key],
              message: "is reserved for the Deployment's selector",
            });
          }
        }
      }),
  ).default({}),
  healthCheckPath: input(text((s) => s.startsWith("/"), "must begin with '/'")).optional(),
  serviceAccountName: input(z.string({ error: (i) => say("must be a name", i.input) })).optional(),
  extraEnv: input(
    z.array(input(z.custom<EnvVar>()), { error: "must be a list of environment variables" }),
  ).default([]),
  waitForRegistration: z
    .object(
      {
        timeoutSec: input(integer("must be an integer 1-3600", 1, 3600)).default(
          ROUTER_DEPLOYMENT_DEFAULTS.registrationTimeoutSec,
        ),
      },
      { error: "must be an object with timeoutSec" },
    )
    .optional(),
};

/** The position of each argument, for listing problems in the order of the arguments. */
const ARG_ORDER = new Map(Object.keys(shape).map((k, i) => [k, i]));

/**
 * RouterDeploymentArgs → RouterDeploymentSettings. Checks across arguments run even when an
 * argument was refused, so every problem is reported at once; the settings are built only from
 * arguments that all passed.
 */
const routerDeploymentArgsSchema = z
  .object(shape, { error: "must be an object of RouterDeploymentArgs" })
  .superRefine(
    (a, ctx) => {
      const bad = (path: (string | number)[], message: string) =>
        ctx.addIssue({ code: "custom", path, message });

      if (
        a.createNamespace !== false &&
        typeof a.namespace === "string" &&
        SYSTEM_NAMESPACES.includes(a.namespace)
      ) {
        bad(
          ["namespace"],
          `'${a.namespace}' always exists: set createNamespace: false to deploy into it`,
        );
      }

      // One key pair: a service account's, or one given directly.
      if (a.serviceAccount !== undefined) {
        if (a.accessKey !== undefined || a.secretKey !== undefined) {
          bad(
            ["serviceAccount"],
            "give either serviceAccount or accessKey and secretKey, not both: the router has one identity",
          );
        }
      } else {
        if (a.accessKey === undefined) bad(["accessKey"], "is required (or give serviceAccount)");
        if (a.secretKey === undefined) bad(["secretKey"], "is required (or give serviceAccount)");
      }

      const external = httpUrl(a.externalUrl);
      if (
        a.authSecureEnabled === true &&
        external?.protocol === "http:" &&
        !LOOPBACK.has(external.hostname)
      ) {
        bad(
          ["authSecureEnabled"],
          `is true but externalUrl is plain http (${String(a.externalUrl)}): browsers drop Secure ` +
            "cookies there, so nobody could sign in. Serve the router over https or set authSecureEnabled: false",
        );
      }

      const tcp = isObject(a.tcp) ? a.tcp : undefined;
      if (
        tcp &&
        isPort(a.port) &&
        isPort(tcp.portStart) &&
        isPort(tcp.portEnd) &&
        tcp.portStart <= tcp.portEnd &&
        a.port >= tcp.portStart &&
        a.port <= tcp.portEnd
      ) {
        bad(["port"], `(${a.port}) must not lie in the TCP range ${tcp.portStart}-${tcp.portEnd}`);
      }

      // An `images` that is not an object is refused above.
      const images: { router?: unknown; proxy?: unknown } = isObject(a.images) ? a.images : {};
      if (a.flavour === "reference") {
        if (a.images === undefined || (isObject(a.images) && images.router === undefined)) {
          bad(
            ["images", "router"],
            "is required for flavour 'reference': no image of the reference router is published. Build " +
              "one at this repository's root with `docker build -f gateway/Dockerfile -t " +
              "<registry>/appgw-gateway:<version> .`, push it where the cluster pulls from, and set " +
              "images.router to it",
          );
        }
        if (images.proxy !== undefined) {
          bad(
            ["images", "proxy"],
            "the reference flavour runs one container; a proxy image applies to flavour 'clearml' only",
          );
        }
      }

      if (Array.isArray(a.extraEnv)) {
        const managed = new Set(MANAGED_ENV[a.flavour] ?? []);
        a.extraEnv.forEach((e, i) => {
          if (isObject(e) && known(e.name) && managed.has(e.name as string)) {
            bad(
              ["extraEnv", i],
              `${String(e.name)} is set from this component's arguments; set the argument instead`,
            );
          }
        });
      }
    },
    { when: (payload) => isObject(payload.value) },
  )
  .transform((a): RouterDeploymentSettings => {
    const common: CommonSettings = {
      namespace: a.namespace,
      createNamespace: a.createNamespace,
      routerName: a.routerName,
      externalUrl: a.externalUrl,
      apiHost: a.apiHost,
      // The checks above guarantee one complete key pair.
      credentials: a.serviceAccount ?? {
        accessKey: a.accessKey as pulumi.Input<string>,
        secretKey: a.secretKey as pulumi.Input<string>,
      },
      authCookieName: a.authCookieName,
      authSecureEnabled: a.authSecureEnabled,
      listenQueues: a.listenQueues,
      domain: a.domain,
      port: a.port,
      tcp: a.tcp,
      ingress: a.ingress,
      networkPolicy: a.networkPolicy ?? {},
      replicas: a.replicas,
      resources: a.resources,
      imagePullSecrets: a.imagePullSecrets,
      labels: a.labels,
      serviceAccountName: a.serviceAccountName,
      extraEnv: a.extraEnv,
      waitForRegistration: a.waitForRegistration,
    };
    if (a.flavour === "reference") {
      return {
        ...common,
        flavour: "reference",
        images: { router: a.images?.router as pulumi.Input<string> },
        healthCheckPath: a.healthCheckPath ?? ROUTER_DEPLOYMENT_DEFAULTS.healthCheckPath,
      };
    }
    const clearml = ROUTER_DEPLOYMENT_DEFAULTS.images.clearml;
    return {
      ...common,
      flavour: "clearml",
      images: {
        router: a.images?.router ?? clearml.router,
        proxy: a.images?.proxy ?? clearml.proxy,
      },
      healthCheckPath: a.healthCheckPath,
    };
  });

/** `listenQueues[1]`, `tcp.portStart`, `labels.app.kubernetes.io/name`. */
const argPath = (path: PropertyKey[]): string =>
  path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i > 0 ? "." : ""}${String(p)}`))
    .join("") || "arguments";

/** Every problem as `arg: reason`, in the order of the arguments. */
function toIssues(error: z.ZodError): string[] {
  const position = (i: z.core.$ZodIssue) => ARG_ORDER.get(String(i.path[0])) ?? ARG_ORDER.size;
  return [...error.issues]
    .sort((a, b) => position(a) - position(b))
    .map((i) => `${argPath(i.path)}: ${i.message}`);
}

/**
 * Settings that are allowed but probably wrong. Only values given directly are looked at, as
 * in the checks.
 */
function warningsFor(s: RouterDeploymentSettings): string[] {
  const warnings: string[] = [];
  if (s.domain !== undefined && known(s.domain) && s.flavour === "clearml") {
    warnings.push(
      "domain (ROUTER_DOMAIN) is read by the reference router only; flavour 'clearml' ignores it",
    );
  }
  if (s.tcp) {
    const { portStart, portEnd, serviceType } = s.tcp;
    if (
      serviceType === "NodePort" &&
      known(portStart) &&
      known(portEnd) &&
      (portStart < DEFAULT_NODE_PORTS.start || portEnd > DEFAULT_NODE_PORTS.end)
    ) {
      warnings.push(
        `tcp: with serviceType NodePort every port of ${portStart}-${portEnd} is also a node port; the cluster ` +
          `must allow them (--service-node-port-range, ${DEFAULT_NODE_PORTS.start}-${DEFAULT_NODE_PORTS.end} by default)`,
      );
    }
    if (known(s.replicas) && s.replicas > 1) {
      warnings.push(
        "tcp with replicas > 1: the TCP Service spreads each port's connections over all replicas",
      );
    }
  }
  const host = s.ingress?.host;
  const external = known(s.externalUrl) ? httpUrl(s.externalUrl) : undefined;
  if (known(host) && external && external.hostname !== host) {
    warnings.push(
      `ingress.host (${host}) is not the host of externalUrl (${external.hostname}): the router advertises externalUrl`,
    );
  }
  return warnings;
}

/**
 * Checks every argument given as a plain value and returns all problems at once (`arg: reason`,
 * in the order of the arguments), and, when there are none, the settings to build from and
 * warnings about settings that are allowed but probably wrong.
 */
export function parseRouterDeploymentArgs(
  args: RouterDeploymentArgs,
):
  | { issues: []; settings: RouterDeploymentSettings; warnings: string[] }
  | { issues: string[]; settings?: undefined; warnings: [] } {
  const result = routerDeploymentArgsSchema.safeParse(args);
  if (!result.success) return { issues: toIssues(result.error), warnings: [] };
  return { issues: [], settings: result.data, warnings: warningsFor(result.data) };
}

/**
 * The problems of `args` (`arg: reason`, all at once) and, when there are none, warnings about
 * settings that are allowed but probably wrong. Outputs are not checked: their values exist
 * only at `up`.
 */
export function validateRouterDeploymentArgs(args: RouterDeploymentArgs): {
  issues: string[];
  warnings: string[];
} {
  const { issues, warnings } = parseRouterDeploymentArgs(args);
  return { issues, warnings };
}
