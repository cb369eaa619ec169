// A router on Kubernetes, deployed the way ClearML's Helm chart deploys its App Gateway router:
// a Secret for the API credentials, a Deployment, a Service, and optionally an Ingress, a
// NetworkPolicy and a NodePort or LoadBalancer Service for the raw TCP port range. The same
// component runs our reference router or ClearML's own images (`flavour`), since both read the
// same env contract (../shared/design/gateway.md, "Router configuration").
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import packageJson from "../package.json";
import { RouterRegistration } from "./routerRegistration";

type EnvVar = k8s.types.input.core.v1.EnvVar;
type Container = k8s.types.input.core.v1.Container;
type Probe = k8s.types.input.core.v1.Probe;

/** Which router image the Deployment runs. */
export type RouterFlavour = "clearml" | "reference";

/** Raw TCP forwarding: the router hands out `tcp://<address>:<port>` endpoints from a port range. */
export interface RouterTcpArgs {
  /** Host name or IP users connect to (`TCP_ROUTER_ADDRESS`): a node's address or the load balancer's. */
  address: pulumi.Input<string>;
  /** First port of the range (`TCP_PORT_START`), inclusive. */
  portStart: pulumi.Input<number>;
  /** Last port of the range (`TCP_PORT_END`), inclusive. */
  portEnd: pulumi.Input<number>;
  /**
   * How the range is exposed. Default `NodePort` (as ClearML's chart), where each port is also
   * the node port, so the range must lie in the cluster's `--service-node-port-range`
   * (30000-32767 unless changed). `LoadBalancer` exposes the ports on the load balancer.
   */
  serviceType?: pulumi.Input<"NodePort" | "LoadBalancer">;
}

export interface RouterIngressArgs {
  /** Host name of the router, usually the host of `externalUrl`. */
  host: pulumi.Input<string>;
  /** `spec.ingressClassName`; unset uses the cluster's default class. */
  className?: pulumi.Input<string>;
  /** Secret holding the TLS certificate for `host` (and `*.<domain>` when `domain` is set). */
  tlsSecretName?: pulumi.Input<string>;
  /** Annotations of the Ingress (cert-manager issuer, body size limits, timeouts...). */
  annotations?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface RouterNetworkPolicyArgs {
  /**
   * Namespace of the ingress controller. When set, only pods of that namespace may reach the
   * router's HTTP port; otherwise any source may. The TCP range is always open to any source
   * (NodePort and load balancer traffic arrives from node addresses).
   */
  ingressControllerNamespace?: pulumi.Input<string>;
}

export interface RouterImagesArgs {
  /** The router image. Default: see `ROUTER_DEPLOYMENT_DEFAULTS.images`. */
  router?: pulumi.Input<string>;
  /** The proxy image (flavour `clearml` only). */
  proxy?: pulumi.Input<string>;
}

/**
 * A key pair for the router. A ServiceAccount resource has this shape (its `accessKey` and
 * `secretKey` outputs), so it can be passed directly.
 */
export interface RouterCredentialsArgs {
  accessKey: pulumi.Input<string>;
  secretKey: pulumi.Input<string>;
}

export interface RouterWaitArgs {
  /** How long `pulumi up` waits for the router to register and come online. Default 300. */
  timeoutSec?: pulumi.Input<number>;
}

export interface RouterDeploymentArgs {
  /** Namespace of every object. Default `appgw`. */
  namespace?: pulumi.Input<string>;
  /**
   * Create the namespace (and delete it, with everything in it, on destroy). Default true; set
   * false to deploy into a namespace that exists already. Plain value: it decides what exists.
   */
  createNamespace?: boolean;
  /**
   * `ROUTER_NAME`, unique per tenant. Also the name of the Deployment, the Service and the other
   * objects, so it must be a DNS label of at most 59 characters.
   */
  routerName: pulumi.Input<string>;
  /** `ROUTER_URL`: the external URL users reach the router at (`https://router.example.com`). */
  externalUrl: pulumi.Input<string>;
  /** `CLEARML_API_HOST`: the control API, as reachable from inside the cluster. */
  apiHost: pulumi.Input<string>;
  /**
   * The key pair the router logs in with, from a service account: usually a ServiceAccount
   * resource, passed as is (`serviceAccount: sa`). Both keys go into the Kubernetes Secret only,
   * marked secret in Pulumi state. Give this or `accessKey` and `secretKey`, not both.
   */
  serviceAccount?: RouterCredentialsArgs;
  /**
   * `CLEARML_API_ACCESS_KEY` of an administrator or service account, when the key pair was made
   * outside this program. Stored in a Secret. Required unless `serviceAccount` is given.
   */
  accessKey?: pulumi.Input<string>;
  /**
   * `CLEARML_API_SECRET_KEY`. Stored in a Secret and marked secret in Pulumi state. Required
   * unless `serviceAccount` is given.
   */
  secretKey?: pulumi.Input<string>;
  /** `AUTH_COOKIE_NAME`: the cookie holding the user's token. Default `appgw_token`. */
  authCookieName?: pulumi.Input<string>;
  /**
   * `AUTH_SECURE_ENABLED`: the `Secure` flag on the router's cookies. Default true. Browsers drop
   * Secure cookies on plain http, so an http `externalUrl` (other than localhost) needs false.
   */
  authSecureEnabled?: pulumi.Input<boolean>;
  /** `LISTEN_QUEUE_NAME`: queues whose tasks this router serves. Unset or empty: every queue. */
  listenQueues?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * `ROUTER_DOMAIN`: parent domain of subdomain routes (`llm.<domain>`). Reference flavour only.
   * With `ingress`, the Ingress also gets a `*.<domain>` rule.
   */
  domain?: pulumi.Input<string>;
  /** `ROUTER__WEBSERVER__SERVER_PORT`: the HTTP port in the pod and on the Service. Default 8080. */
  port?: pulumi.Input<number>;
  /** Raw TCP forwarding and the Service exposing its port range. Plain object: it decides what exists. */
  tcp?: RouterTcpArgs;
  /** An Ingress for the router's HTTP port. Plain object: it decides what exists. */
  ingress?: RouterIngressArgs;
  /**
   * A NetworkPolicy for the router's pods: ingress to the HTTP port (from anywhere, or from the
   * ingress controller's namespace) and to the TCP range; all egress. Default true.
   */
  networkPolicy?: boolean | RouterNetworkPolicyArgs;
  /** Default 1. */
  replicas?: pulumi.Input<number>;
  /** Requests and limits of each container. Default: `ROUTER_DEPLOYMENT_DEFAULTS.resources`. */
  resources?: pulumi.Input<k8s.types.input.core.v1.ResourceRequirements>;
  /**
   * `reference` (default): our router, one container. `clearml`: ClearML's router (controller)
   * and proxy containers, configured with the env names of ClearML's documentation.
   */
  flavour?: RouterFlavour;
  /** Image overrides; defaults depend on the flavour (`ROUTER_DEPLOYMENT_DEFAULTS.images`). */
  images?: RouterImagesArgs;
  /** Names of Secrets for pulling the images (ClearML's images are in a private registry). */
  imagePullSecrets?: pulumi.Input<pulumi.Input<string>[]>;
  /** Extra labels on every object. The selector labels (`app.kubernetes.io/name`, `.../instance`) are reserved. */
  labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * HTTP path of the readiness and liveness probes. Default `/_appgw/health` for the reference
   * router. ClearML documents no health path, so its proxy is probed by a TCP connect unless
   * this is set.
   */
  healthCheckPath?: pulumi.Input<string>;
  /** Service account of the pods (ClearML's router may need one that can read the namespace's pods). */
  serviceAccountName?: pulumi.Input<string>;
  /**
   * More environment variables for the router container (ClearML's chart calls them
   * `router.extraEnvs`). Variables this component sets from its arguments cannot be overridden here.
   */
  extraEnv?: pulumi.Input<pulumi.Input<EnvVar>[]>;
  /**
   * Make `pulumi up` wait until the router has registered with the control API and is online
   * (a RouterRegistration), and fail if it does not within the timeout. The wait uses the
   * stack's connection settings (`appgw:apiHost`...). Plain object: it decides what exists.
   */
  waitForRegistration?: RouterWaitArgs;
}

/** What the router registered as, once `waitForRegistration` saw it listed. */
export interface RegisteredRouter {
  /** Its id in `routers.get_task_routers`, which is its `ROUTER_NAME`. */
  routerId: string;
  url: string;
  /** Undefined when the router reported no version. */
  version: string | undefined;
  online: boolean;
}

/**
 * Defaults of RouterDeployment.
 *
 * The reference image is a placeholder: no image of the reference router is published. Build
 * one from this repository (its entrypoint must run `gateway/main.ts`; the Deployment passes
 * `--role router`) and set `images.router`.
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
    reference: { router: `ghcr.io/appgw/router:${packageJson.version}` },
    clearml: {
      router: "clearml/ai-gateway-router:2.14.0",
      proxy: "clearml/ai-gateway-proxy:1.8.1",
    },
  },
};

/** Keys of the credentials Secret, named after the variables they feed. */
export const CREDENTIALS_KEYS = {
  accessKey: "CLEARML_API_ACCESS_KEY",
  secretKey: "CLEARML_API_SECRET_KEY",
} as const;

/** Where ClearML's router writes the proxy's configuration and the proxy reads it (ClearML's compose file). */
const CLEARML_SHARED_DIRS = [
  { name: "nginx-conf", mountPath: "/etc/nginx/conf.d" },
  { name: "nginx-lua", mountPath: "/usr/local/openresty/nginx/lua" },
];

const SELECTOR_KEYS = ["app.kubernetes.io/name", "app.kubernetes.io/instance"];
const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];
const DEFAULT_NODE_PORTS = { start: 30000, end: 32767 };

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

// --- validation -------------------------------------------------------------------------------

/** A value given directly, not an Output or a promise: only those can be checked up front. */
const known = <T>(v: pulumi.Input<T> | undefined): v is T =>
  v !== undefined && !pulumi.Output.isInstance(v) && !(v instanceof Promise);

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** RFC 6265 cookie-name: an HTTP token. */
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

function httpUrl(raw: string): URL | undefined {
  try {
    const url = new URL(raw);
    return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
  } catch {
    return undefined;
  }
}

const isPort = (n: unknown): n is number =>
  Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;

/**
 * Checks every argument given as a plain value and returns all problems at once (`arg: reason`),
 * plus warnings about settings that are allowed but probably wrong. Outputs are not checked:
 * their values exist only at `up`.
 */
export function validateRouterDeploymentArgs(args: RouterDeploymentArgs): {
  issues: string[];
  warnings: string[];
} {
  const issues: string[] = [];
  const warnings: string[] = [];
  const bad = (arg: string, reason: string) => issues.push(`${arg}: ${reason}`);
  const flavour = args.flavour ?? ROUTER_DEPLOYMENT_DEFAULTS.flavour;

  if (args.routerName === undefined) bad("routerName", "is required");
  else if (
    known(args.routerName) &&
    !(/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(args.routerName) && args.routerName.length <= 59)
  ) {
    bad(
      "routerName",
      `must be a DNS label of at most 59 characters (lower-case letters, digits and '-', starting with a ` +
        `letter): it names the Kubernetes objects, and '<routerName>-tcp' must fit in 63; got '${args.routerName}'`,
    );
  }

  if (known(args.namespace) && !(DNS_LABEL.test(args.namespace) && args.namespace.length <= 63)) {
    bad("namespace", `must be a DNS label of at most 63 characters, got '${args.namespace}'`);
  } else if (
    known(args.namespace) &&
    args.createNamespace !== false &&
    SYSTEM_NAMESPACES.includes(args.namespace)
  ) {
    bad(
      "namespace",
      `'${args.namespace}' always exists: set createNamespace: false to deploy into it`,
    );
  }

  let external: URL | undefined;
  if (args.externalUrl === undefined) bad("externalUrl", "is required");
  else if (known(args.externalUrl)) {
    external = httpUrl(args.externalUrl);
    if (!external) bad("externalUrl", `must be an http(s) URL, got '${args.externalUrl}'`);
    else if (external.search || external.hash)
      bad("externalUrl", "must not have a query or fragment");
  }

  if (args.apiHost === undefined) bad("apiHost", "is required");
  else if (known(args.apiHost) && !httpUrl(args.apiHost)) {
    bad("apiHost", `must be an http(s) URL, got '${args.apiHost}'`);
  }

  // One key pair: a service account's, or one given directly.
  const sa = args.serviceAccount;
  let keys: [string, pulumi.Input<string> | undefined][] = [
    ["accessKey", args.accessKey],
    ["secretKey", args.secretKey],
  ];
  if (sa !== undefined) {
    if (args.accessKey !== undefined || args.secretKey !== undefined) {
      bad(
        "serviceAccount",
        "give either serviceAccount or accessKey and secretKey, not both: the router has one identity",
      );
      keys = [];
    } else if (typeof sa !== "object" || sa === null) {
      bad("serviceAccount", "must be a ServiceAccount, or an object with accessKey and secretKey");
      keys = [];
    } else {
      // A ServiceAccount's keys are Outputs: they are checked only when given as plain values.
      keys = [
        ["serviceAccount.accessKey", sa.accessKey],
        ["serviceAccount.secretKey", sa.secretKey],
      ];
    }
  }
  for (const [arg, v] of keys) {
    if (v === undefined)
      bad(arg, sa === undefined ? "is required (or give serviceAccount)" : "is required");
    else if (known(v) && (typeof v !== "string" || v.trim() === ""))
      bad(arg, "must be a non-empty string");
  }

  if (
    known(args.authCookieName) &&
    (!COOKIE_NAME.test(args.authCookieName) || args.authCookieName.startsWith("appgw_aff_"))
  ) {
    bad(
      "authCookieName",
      `must be a cookie name (letters, digits and !#$%&'*+.^_\`|~-) not starting with 'appgw_aff_', got '${args.authCookieName}'`,
    );
  }

  const secure = args.authSecureEnabled ?? ROUTER_DEPLOYMENT_DEFAULTS.authSecureEnabled;
  if (secure === true && external?.protocol === "http:" && !LOOPBACK.has(external.hostname)) {
    bad(
      "authSecureEnabled",
      `is true but externalUrl is plain http (${args.externalUrl as string}): browsers drop Secure cookies ` +
        "there, so nobody could sign in. Serve the router over https or set authSecureEnabled: false",
    );
  }

  if (known(args.listenQueues)) {
    if (!Array.isArray(args.listenQueues)) bad("listenQueues", "must be a list of queue names");
    else {
      if (args.listenQueues.length > 64) bad("listenQueues", "must name at most 64 queues");
      args.listenQueues.forEach((q, i) => {
        if (known(q) && (typeof q !== "string" || q === "" || /\s/.test(q) || q.length > 128)) {
          bad(
            `listenQueues[${i}]`,
            `must be a queue name of 1-128 characters without spaces, got '${String(q)}'`,
          );
        }
      });
    }
  }

  if (known(args.domain)) {
    if (!DNS_SUBDOMAIN.test(args.domain))
      bad("domain", `must be a lower-case DNS name, got '${args.domain}'`);
    if (flavour === "clearml")
      warnings.push(
        "domain (ROUTER_DOMAIN) is read by the reference router only; flavour 'clearml' ignores it",
      );
  }

  const port = args.port ?? ROUTER_DEPLOYMENT_DEFAULTS.port;
  if (known(port) && !isPort(port)) bad("port", `must be an integer 1-65535, got ${String(port)}`);

  if (args.tcp !== undefined) {
    const { address, portStart, portEnd, serviceType } = args.tcp;
    if (address === undefined) bad("tcp.address", "is required");
    else if (known(address) && (address === "" || /[\s/@]/.test(address))) {
      bad("tcp.address", `must be a host name or IP address (no scheme or port), got '${address}'`);
    }
    const startOk = known(portStart) && isPort(portStart);
    const endOk = known(portEnd) && isPort(portEnd);
    if (portStart === undefined) bad("tcp.portStart", "is required");
    else if (known(portStart) && !startOk)
      bad("tcp.portStart", `must be an integer 1-65535, got ${String(portStart)}`);
    if (portEnd === undefined) bad("tcp.portEnd", "is required");
    else if (known(portEnd) && !endOk)
      bad("tcp.portEnd", `must be an integer 1-65535, got ${String(portEnd)}`);
    if (startOk && endOk) {
      if (portStart > portEnd)
        bad("tcp.portStart", `(${portStart}) must not be above tcp.portEnd (${portEnd})`);
      else if (known(port) && isPort(port) && port >= portStart && port <= portEnd) {
        bad("port", `(${port}) must not lie in the TCP range ${portStart}-${portEnd}`);
      }
    }
    const type = serviceType ?? ROUTER_DEPLOYMENT_DEFAULTS.tcpServiceType;
    if (known(type) && type !== "NodePort" && type !== "LoadBalancer") {
      bad("tcp.serviceType", `must be 'NodePort' or 'LoadBalancer', got '${String(type)}'`);
    } else if (
      type === "NodePort" &&
      startOk &&
      endOk &&
      (portStart < DEFAULT_NODE_PORTS.start || portEnd > DEFAULT_NODE_PORTS.end)
    ) {
      warnings.push(
        `tcp: with serviceType NodePort every port of ${portStart}-${portEnd} is also a node port; the cluster ` +
          `must allow them (--service-node-port-range, ${DEFAULT_NODE_PORTS.start}-${DEFAULT_NODE_PORTS.end} by default)`,
      );
    }
    const replicas = args.replicas ?? ROUTER_DEPLOYMENT_DEFAULTS.replicas;
    if (known(replicas) && replicas > 1) {
      warnings.push(
        "tcp with replicas > 1: the TCP Service spreads each port's connections over all replicas",
      );
    }
  }

  if (args.ingress !== undefined) {
    const { host, className, tlsSecretName } = args.ingress;
    if (host === undefined) bad("ingress.host", "is required");
    else if (known(host)) {
      if (!DNS_SUBDOMAIN.test(host.replace(/^\*\./, "")))
        bad("ingress.host", `must be a lower-case DNS name, got '${host}'`);
      else if (external && external.hostname !== host) {
        warnings.push(
          `ingress.host (${host}) is not the host of externalUrl (${external.hostname}): the router advertises externalUrl`,
        );
      }
    }
    if (known(className) && !DNS_SUBDOMAIN.test(className))
      bad("ingress.className", `must be a DNS name, got '${className}'`);
    if (known(tlsSecretName) && !DNS_SUBDOMAIN.test(tlsSecretName)) {
      bad("ingress.tlsSecretName", `must be a Secret name (a DNS name), got '${tlsSecretName}'`);
    }
  }

  if (
    typeof args.networkPolicy === "object" &&
    known(args.networkPolicy.ingressControllerNamespace)
  ) {
    const ns = args.networkPolicy.ingressControllerNamespace;
    if (!DNS_LABEL.test(ns) || ns.length > 63)
      bad("networkPolicy.ingressControllerNamespace", `must be a namespace name, got '${ns}'`);
  }

  if (known(args.replicas) && !(Number.isInteger(args.replicas) && args.replicas >= 1)) {
    bad("replicas", `must be an integer of at least 1, got ${String(args.replicas)}`);
  }

  if (flavour !== "clearml" && flavour !== "reference") {
    bad("flavour", `must be 'reference' or 'clearml', got '${String(flavour)}'`);
  }

  for (const key of ["router", "proxy"] as const) {
    const image = args.images?.[key];
    if (known(image) && (typeof image !== "string" || image === "" || /\s/.test(image))) {
      bad(`images.${key}`, `must be an image reference, got '${String(image)}'`);
    }
  }
  if (args.images?.proxy !== undefined && flavour === "reference") {
    bad(
      "images.proxy",
      "the reference flavour runs one container; a proxy image applies to flavour 'clearml' only",
    );
  }

  if (known(args.imagePullSecrets) && Array.isArray(args.imagePullSecrets)) {
    args.imagePullSecrets.forEach((s, i) => {
      if (known(s) && !DNS_SUBDOMAIN.test(s))
        bad(`imagePullSecrets[${i}]`, `must be a Secret name, got '${s}'`);
    });
  }

  if (known(args.labels)) {
    for (const key of SELECTOR_KEYS) {
      if (key in args.labels) bad(`labels.${key}`, "is reserved for the Deployment's selector");
    }
  }

  if (known(args.healthCheckPath) && !args.healthCheckPath.startsWith("/")) {
    bad("healthCheckPath", `must begin with '/', got '${args.healthCheckPath}'`);
  }

  if (known(args.extraEnv) && Array.isArray(args.extraEnv)) {
    const managed = new Set(MANAGED_ENV[flavour] ?? []);
    args.extraEnv.forEach((e, i) => {
      if (known(e) && known(e.name) && managed.has(e.name)) {
        bad(
          `extraEnv[${i}]`,
          `${e.name} is set from this component's arguments; set the argument instead`,
        );
      }
    });
  }

  const timeout = args.waitForRegistration?.timeoutSec;
  if (known(timeout) && !(Number.isInteger(timeout) && timeout >= 1 && timeout <= 3600)) {
    bad("waitForRegistration.timeoutSec", `must be an integer 1-3600, got ${String(timeout)}`);
  }

  return { issues, warnings };
}

// --- the pod ----------------------------------------------------------------------------------

interface PodInputs {
  routerName: pulumi.Input<string>;
  externalUrl: pulumi.Input<string>;
  apiHost: pulumi.Input<string>;
  secretName: pulumi.Input<string>;
  port: pulumi.Input<number>;
  authCookieName: pulumi.Input<string>;
  authSecureEnabled: pulumi.Input<boolean>;
}

const str = (v: pulumi.Input<string | number | boolean>): pulumi.Output<string> =>
  pulumi.output(v).apply(String);

const fromSecret = (name: string, secretName: pulumi.Input<string>, key: string): EnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: secretName, key } },
});

/** Every variable the component may set from its arguments, by flavour: `extraEnv` may not repeat them. */
const MANAGED_ENV: Record<RouterFlavour, readonly string[]> = {
  reference: `ROUTER_NAME ROUTER_URL ROUTER_HOST ROUTER__WEBSERVER__SERVER_PORT CLEARML_API_HOST
    CLEARML_API_ACCESS_KEY CLEARML_API_SECRET_KEY AUTH_COOKIE_NAME AUTH_SECURE_ENABLED LISTEN_QUEUE_NAME
    ROUTER_DOMAIN TCP_ROUTER_ADDRESS TCP_PORT_START TCP_PORT_END`.split(/\s+/),
  clearml:
    `ROUTER__WEBSERVER__AUTO_RELOAD_CONFIG ROUTER_NAME LISTEN_QUEUE_NAME ROUTER__WEBSERVER__SERVER_PORT
    ROUTER_URL CLEARML_API_HOST CLEARML_API_ACCESS_KEY CLEARML_API_SECRET_KEY AUTH_COOKIE_NAME
    ROUTER__HTTP__AUTHORIZATION__COOKIE__SECURE ROUTER__STREAM__EXTERNAL_URL
    ROUTER__STREAM__PORT_RANGE__START ROUTER__STREAM__PORT_RANGE__END`.split(/\s+/),
};

/** Our router's env contract (gateway/router/config.ts). */
function referenceEnv(args: RouterDeploymentArgs, p: PodInputs): EnvVar[] {
  const env: EnvVar[] = [
    { name: "ROUTER_NAME", value: p.routerName },
    { name: "ROUTER_URL", value: p.externalUrl },
    // The router listens on loopback unless told otherwise; in a pod the Service, the probes
    // and the ingress controller reach it on the pod's address.
    { name: "ROUTER_HOST", value: "0.0.0.0" },
    { name: "ROUTER__WEBSERVER__SERVER_PORT", value: str(p.port) },
    { name: "CLEARML_API_HOST", value: p.apiHost },
    fromSecret("CLEARML_API_ACCESS_KEY", p.secretName, CREDENTIALS_KEYS.accessKey),
    fromSecret("CLEARML_API_SECRET_KEY", p.secretName, CREDENTIALS_KEYS.secretKey),
    { name: "AUTH_COOKIE_NAME", value: p.authCookieName },
    { name: "AUTH_SECURE_ENABLED", value: str(p.authSecureEnabled) },
  ];
  if (args.listenQueues !== undefined) {
    env.push({
      name: "LISTEN_QUEUE_NAME",
      value: pulumi.output(args.listenQueues).apply((q) => q.join(" ")),
    });
  }
  if (args.domain !== undefined) env.push({ name: "ROUTER_DOMAIN", value: args.domain });
  if (args.tcp) {
    env.push(
      { name: "TCP_ROUTER_ADDRESS", value: args.tcp.address },
      { name: "TCP_PORT_START", value: str(args.tcp.portStart) },
      { name: "TCP_PORT_END", value: str(args.tcp.portEnd) },
    );
  }
  return env;
}

/**
 * ClearML's router, with the variable names of ClearML's current docker-compose guide (router
 * 2.x): the cookie flag and the TCP ("stream") range have `ROUTER__...` names there. Older
 * `task-traffic-router` images read `AUTH_SECURE_ENABLED` and `TCP_*`; pass those in
 * `extraEnv` if you run one.
 */
function clearmlRouterEnv(args: RouterDeploymentArgs, p: PodInputs): EnvVar[] {
  const env: EnvVar[] = [
    // The router rewrites the proxy's configuration; this makes the proxy pick it up.
    { name: "ROUTER__WEBSERVER__AUTO_RELOAD_CONFIG", value: "true" },
    { name: "ROUTER_NAME", value: p.routerName },
  ];
  if (args.listenQueues !== undefined) {
    env.push({
      name: "LISTEN_QUEUE_NAME",
      value: pulumi.output(args.listenQueues).apply((q) => q.join(" ")),
    });
  }
  env.push(
    { name: "ROUTER__WEBSERVER__SERVER_PORT", value: str(p.port) },
    { name: "ROUTER_URL", value: p.externalUrl },
    { name: "CLEARML_API_HOST", value: p.apiHost },
    fromSecret("CLEARML_API_ACCESS_KEY", p.secretName, CREDENTIALS_KEYS.accessKey),
    fromSecret("CLEARML_API_SECRET_KEY", p.secretName, CREDENTIALS_KEYS.secretKey),
    { name: "AUTH_COOKIE_NAME", value: p.authCookieName },
    { name: "ROUTER__HTTP__AUTHORIZATION__COOKIE__SECURE", value: str(p.authSecureEnabled) },
  );
  if (args.tcp) {
    env.push(
      { name: "ROUTER__STREAM__EXTERNAL_URL", value: args.tcp.address },
      { name: "ROUTER__STREAM__PORT_RANGE__START", value: str(args.tcp.portStart) },
      { name: "ROUTER__STREAM__PORT_RANGE__END", value: str(args.tcp.portEnd) },
    );
  }
  return env;
}

function probes(
  check: Pick<Probe, "httpGet" | "tcpSocket">,
): Pick<Container, "readinessProbe" | "livenessProbe"> {
  return {
    readinessProbe: {
      ...check,
      initialDelaySeconds: 2,
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 3,
    },
    // Slower and more tolerant than readiness: a busy router is taken out of the Service long
    // before it is restarted.
    livenessProbe: {
      ...check,
      initialDelaySeconds: 10,
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 6,
    },
  };
}

// --- the component ----------------------------------------------------------------------------

/**
 * A router of the gateway on Kubernetes, as ClearML's Helm chart deploys one: a Namespace
 * (optional), a Secret with the API credentials (a ServiceAccount's, or a key pair given
 * directly; they reach the containers through `secretKeyRef` only), a Deployment, a ClusterIP
 * Service on the router's port, and optionally a Service for the raw TCP range, an Ingress and
 * a NetworkPolicy. With `waitForRegistration`, `pulumi up` also waits for the router to
 * register itself with the control API.
 *
 * Every argument is checked before anything is created, and all problems are reported at once.
 */
export class RouterDeployment extends pulumi.ComponentResource {
  /** The namespace of every object. */
  public readonly namespace: pulumi.Output<string>;
  public readonly deploymentName: pulumi.Output<string>;
  /** The ClusterIP Service on the router's HTTP port. */
  public readonly serviceName: pulumi.Output<string>;
  /** The Secret holding the API credentials. */
  public readonly secretName: pulumi.Output<string>;
  /** The Service exposing the TCP port range, when `tcp` is set. */
  public readonly tcpServiceName?: pulumi.Output<string>;
  /** The Ingress's host, when `ingress` is set. */
  public readonly ingressHost?: pulumi.Output<string>;
  /** The router's external URL (`externalUrl`). */
  public readonly url: pulumi.Output<string>;
  /** What the router registered as, when `waitForRegistration` is set. */
  public readonly registered?: pulumi.Output<RegisteredRouter>;

  public readonly namespaceResource?: k8s.core.v1.Namespace;
  public readonly secret: k8s.core.v1.Secret;
  public readonly deployment: k8s.apps.v1.Deployment;
  public readonly service: k8s.core.v1.Service;
  public readonly tcpService?: k8s.core.v1.Service;
  public readonly ingress?: k8s.networking.v1.Ingress;
  public readonly networkPolicy?: k8s.networking.v1.NetworkPolicy;
  public readonly registration?: RouterRegistration;

  constructor(name: string, args: RouterDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before the component registers, so a bad argument creates nothing at all.
    const { issues, warnings } = validateRouterDeploymentArgs(args);
    if (issues.length > 0) throw new RouterDeploymentArgsError(name, issues);

    super("appgw:index:RouterDeployment", name, {}, opts);
    for (const w of warnings) pulumi.log.warn(w, this);

    const flavour = args.flavour ?? ROUTER_DEPLOYMENT_DEFAULTS.flavour;
    const port = args.port ?? ROUTER_DEPLOYMENT_DEFAULTS.port;
    const routerName = pulumi.output(args.routerName);

    const selector = routerName.apply((instance) => ({
      "app.kubernetes.io/name": "appgw-router",
      "app.kubernetes.io/instance": instance,
    }));
    const labels = pulumi
      .all([pulumi.output(args.labels ?? {}), selector])
      .apply(([extra, sel]) => ({
        ...extra,
        ...sel,
        "app.kubernetes.io/component": "router",
        "app.kubernetes.io/part-of": "appgw",
        "app.kubernetes.io/managed-by": "pulumi",
        "appgw.io/flavour": flavour,
      }));

    if (args.createNamespace !== false) {
      this.namespaceResource = new k8s.core.v1.Namespace(
        `${name}-namespace`,
        { metadata: { name: args.namespace ?? ROUTER_DEPLOYMENT_DEFAULTS.namespace, labels } },
        { parent: this },
      );
    }
    // Through the Namespace's output, so every object waits for the namespace to exist.
    const namespace = this.namespaceResource
      ? this.namespaceResource.metadata.name
      : pulumi.output(args.namespace ?? ROUTER_DEPLOYMENT_DEFAULTS.namespace);

    // Validation guarantees one complete key pair. Both keys are marked secret, so the Secret's
    // data never shows in plain text in state or in a diff (a ServiceAccount's accessKey is
    // not a secret output of its own).
    const credentials = args.serviceAccount ?? {
      accessKey: args.accessKey as pulumi.Input<string>,
      secretKey: args.secretKey as pulumi.Input<string>,
    };
    const accessKey = pulumi.secret(credentials.accessKey);
    const secretKey = pulumi.secret(credentials.secretKey);
    this.secret = new k8s.core.v1.Secret(
      `${name}-secret`,
      {
        metadata: { name: pulumi.interpolate`${routerName}-api-credentials`, namespace, labels },
        type: "Opaque",
        stringData: {
          [CREDENTIALS_KEYS.accessKey]: accessKey,
          [CREDENTIALS_KEYS.secretKey]: secretKey,
        },
      },
      { parent: this },
    );

    const pod: PodInputs = {
      routerName,
      externalUrl: args.externalUrl,
      apiHost: args.apiHost,
      secretName: this.secret.metadata.name,
      port,
      authCookieName: args.authCookieName ?? ROUTER_DEPLOYMENT_DEFAULTS.authCookieName,
      authSecureEnabled: args.authSecureEnabled ?? ROUTER_DEPLOYMENT_DEFAULTS.authSecureEnabled,
    };
    const resources = args.resources ?? ROUTER_DEPLOYMENT_DEFAULTS.resources;
    const extraEnv = args.extraEnv ?? [];
    const withExtra = (env: EnvVar[]) =>
      pulumi.all([env, extraEnv]).apply(([a, b]) => [...a, ...b]);
    const httpPort = { name: "http", containerPort: port, protocol: "TCP" };
    const images = ROUTER_DEPLOYMENT_DEFAULTS.images;

    let containers: Container[];
    let volumes: k8s.types.input.core.v1.Volume[] | undefined;
    if (flavour === "reference") {
      containers = [
        {
          name: "router",
          image: args.images?.router ?? images.reference.router,
          // The image runs gateway/main.ts; this role starts the router alone.
          args: ["--role", "router"],
          env: withExtra(referenceEnv(args, pod)),
          ports: [httpPort],
          ...probes({
            httpGet: {
              path: args.healthCheckPath ?? ROUTER_DEPLOYMENT_DEFAULTS.healthCheckPath,
              port: "http",
            },
          }),
          resources,
        },
      ];
    } else {
      // As ClearML's compose file: the router (controller) writes the proxy's nginx/lua
      // configuration into shared folders, the proxy (OpenResty) reads it and serves the port
      // and the TCP range. In a pod the folders are emptyDir volumes.
      volumes = CLEARML_SHARED_DIRS.map((d) => ({ name: d.name, emptyDir: {} }));
      const check =
        args.healthCheckPath !== undefined
          ? { httpGet: { path: args.healthCheckPath, port: "http" } }
          : { tcpSocket: { port: "http" } };
      containers = [
        {
          name: "router",
          image: args.images?.router ?? images.clearml.router,
          env: withExtra(clearmlRouterEnv(args, pod)),
          volumeMounts: CLEARML_SHARED_DIRS.map((d) => ({ ...d })),
          resources,
        },
        {
          name: "proxy",
          image: args.images?.proxy ?? images.clearml.proxy,
          env: [{ name: "ROUTER__WEBSERVER__AUTO_RELOAD_CONFIG", value: "true" }],
          ports: [httpPort],
          volumeMounts: CLEARML_SHARED_DIRS.map((d) => ({ ...d, readOnly: true })),
          ...probes(check),
          resources,
        },
      ];
    }

    // Pods read the Secret only when they start: a checksum of the credentials in the pod
    // template rolls the pods when the credentials change (the Helm chart idiom).
    // A digest reveals nothing usable, and left secret it would make the whole Deployment spec
    // secret in state, hiding every diff of it.
    const credentialsChecksum = pulumi.unsecret(
      pulumi
        .all([accessKey, secretKey])
        .apply(([a, s]) => createHash("sha256").update(`${a}\0${s}`).digest("hex")),
    );

    this.deployment = new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: { name: routerName, namespace, labels },
        spec: {
          replicas: args.replicas ?? ROUTER_DEPLOYMENT_DEFAULTS.replicas,
          selector: { matchLabels: selector },
          template: {
            metadata: { labels, annotations: { "checksum/api-credentials": credentialsChecksum } },
            spec: {
              // Service links would add variables such as ROUTER_PORT or TCP_PORT (for Services
              // named router or tcp) to an environment that configures the router.
              enableServiceLinks: false,
              ...(args.serviceAccountName !== undefined
                ? { serviceAccountName: args.serviceAccountName }
                : flavour === "reference"
                  ? { automountServiceAccountToken: false }
                  : {}),
              ...(args.imagePullSecrets !== undefined
                ? {
                    imagePullSecrets: pulumi
                      .output(args.imagePullSecrets)
                      .apply((names) => names.map((n) => ({ name: n }))),
                  }
                : {}),
              containers,
              ...(volumes ? { volumes } : {}),
            },
          },
        },
      },
      { parent: this },
    );

    this.service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: { name: routerName, namespace, labels },
        spec: {
          type: "ClusterIP",
          selector,
          ports: [{ name: "http", port, targetPort: "http", protocol: "TCP" }],
        },
      },
      { parent: this },
    );

    if (args.tcp) {
      const tcp = args.tcp;
      const type = tcp.serviceType ?? ROUTER_DEPLOYMENT_DEFAULTS.tcpServiceType;
      this.tcpService = new k8s.core.v1.Service(
        `${name}-tcp-service`,
        {
          metadata: { name: pulumi.interpolate`${routerName}-tcp`, namespace, labels },
          spec: {
            type,
            selector,
            // A Service lists each port; the router advertises `<address>:<port>`, so with a
            // NodePort Service each node port must be the port itself.
            ports: pulumi.all([tcp.portStart, tcp.portEnd, type]).apply(([start, end, t]) =>
              Array.from({ length: end - start + 1 }, (_, i) => start + i).map((p) => ({
                name: `tcp-${p}`,
                port: p,
                targetPort: p,
                protocol: "TCP",
                ...(t === "NodePort" ? { nodePort: p } : {}),
              })),
            ),
          },
        },
        { parent: this },
      );
      this.tcpServiceName = this.tcpService.metadata.name;
    }

    if (args.ingress) {
      const ing = args.ingress;
      // Subdomain routes (`llm.<domain>`) reach the router through a wildcard rule.
      const hosts: pulumi.Input<string>[] = [ing.host];
      if (args.domain !== undefined && flavour === "reference")
        hosts.push(pulumi.interpolate`*.${args.domain}`);
      this.ingress = new k8s.networking.v1.Ingress(
        `${name}-ingress`,
        {
          metadata: {
            name: routerName,
            namespace,
            labels,
            ...(ing.annotations !== undefined ? { annotations: ing.annotations } : {}),
          },
          spec: {
            ...(ing.className !== undefined ? { ingressClassName: ing.className } : {}),
            ...(ing.tlsSecretName !== undefined
              ? { tls: [{ hosts, secretName: ing.tlsSecretName }] }
              : {}),
            rules: hosts.map((host) => ({
              host,
              http: {
                paths: [
                  {
                    path: "/",
                    pathType: "Prefix",
                    backend: {
                      service: { name: this.service.metadata.name, port: { name: "http" } },
                    },
                  },
                ],
              },
            })),
          },
        },
        { parent: this },
      );
      this.ingressHost = pulumi.output(ing.host);
    }

    const policy = args.networkPolicy ?? true;
    if (policy !== false) {
      const controllerNs =
        typeof policy === "object" ? policy.ingressControllerNamespace : undefined;
      const ingress: k8s.types.input.networking.v1.NetworkPolicyIngressRule[] = [
        {
          ...(controllerNs !== undefined
            ? {
                from: [
                  {
                    namespaceSelector: {
                      matchLabels: { "kubernetes.io/metadata.name": controllerNs },
                    },
                  },
                ],
              }
            : {}),
          ports: [{ protocol: "TCP", port }],
        },
      ];
      if (args.tcp) {
        ingress.push({
          ports: [{ protocol: "TCP", port: args.tcp.portStart, endPort: args.tcp.portEnd }],
        });
      }
      this.networkPolicy = new k8s.networking.v1.NetworkPolicy(
        `${name}-network-policy`,
        {
          metadata: { name: routerName, namespace, labels },
          spec: {
            podSelector: { matchLabels: selector },
            policyTypes: ["Ingress", "Egress"],
            ingress,
            // The router calls the control API and the tasks it routes to, wherever they run.
            egress: [{}],
          },
        },
        { parent: this },
      );
    }

    if (args.waitForRegistration) {
      const imageList = containers.map((c) => c.image as pulumi.Input<string>);
      this.registration = new RouterRegistration(
        `${name}-registration`,
        {
          routerName,
          timeoutSec:
            args.waitForRegistration.timeoutSec ??
            ROUTER_DEPLOYMENT_DEFAULTS.registrationTimeoutSec,
          expectedUrl: args.externalUrl,
          namespace,
          // A new generation is a new rollout: wait for the router again.
          triggers: [
            this.deployment.metadata.generation.apply((g) => String(g ?? "")),
            ...imageList,
          ],
        },
        { parent: this, dependsOn: [this.deployment] },
      );
      const r = this.registration;
      this.registered = pulumi
        .all([r.routerId, r.url, r.version, r.online])
        .apply(([routerId, url, version, online]) => ({ routerId, url, version, online }));
    }

    this.namespace = namespace;
    this.deploymentName = this.deployment.metadata.name;
    this.serviceName = this.service.metadata.name;
    this.secretName = this.secret.metadata.name;
    this.url = pulumi.output(args.externalUrl);

    this.registerOutputs({
      namespace: this.namespace,
      deploymentName: this.deploymentName,
      serviceName: this.serviceName,
      secretName: this.secretName,
      tcpServiceName: this.tcpServiceName,
      ingressHost: this.ingressHost,
      url: this.url,
      registered: this.registered,
    });
  }
}
