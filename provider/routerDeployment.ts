// A router on Kubernetes, deployed the way ClearML's Helm chart deploys its App Gateway router:
// a Secret for the API credentials, a Deployment, a Service, and optionally an Ingress, a
// NetworkPolicy and a NodePort or LoadBalancer Service for the raw TCP port range. The same
// component runs our reference router or ClearML's own images (`flavour`), since both read the
// same env contract (ClearML's App Gateway installation guides; README, "The reference gateway").
//
// This file holds what users see: the arguments, the outputs and the component. The arguments'
// schema (checks and defaults), the container environment of each flavour and the pod live in
// ./routerDeployment/.
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { parseRouterDeploymentArgs, RouterDeploymentArgsError } from "./routerDeployment/args";
import { CREDENTIALS_KEYS } from "./routerDeployment/env";
import { routerPod } from "./routerDeployment/pod";
import { RouterRegistration } from "./routerRegistration";

export {
  ROUTER_DEPLOYMENT_DEFAULTS,
  RouterDeploymentArgsError,
  validateRouterDeploymentArgs,
} from "./routerDeployment/args";
export { CREDENTIALS_KEYS } from "./routerDeployment/env";

type EnvVar = k8s.types.input.core.v1.EnvVar;

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
  /**
   * The router image. Required for flavour `reference`: no image of the reference router is
   * published, so build one from this repository with `gateway/Dockerfile`
   * (`docker build -f gateway/Dockerfile -t <registry>/appgw-gateway:<version> .` at the
   * repository's root), push it, and set it here. Flavour `clearml`: default
   * `ROUTER_DEPLOYMENT_DEFAULTS.images.clearml.router`.
   */
  router?: pulumi.Input<string>;
  /** The proxy image (flavour `clearml` only). Default `ROUTER_DEPLOYMENT_DEFAULTS.images.clearml.proxy`. */
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
   * `reference` (default): our router, one container running the image `gateway/Dockerfile`
   * builds (`images.router` is required). `clearml`: ClearML's router (controller) and proxy
   * containers, configured with the env names of ClearML's documentation.
   */
  flavour?: RouterFlavour;
  /**
   * The images. Flavour `reference`: `router` is required. Flavour `clearml`: both default to
   * `ROUTER_DEPLOYMENT_DEFAULTS.images.clearml`.
   */
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
 * A router of the gateway on Kubernetes, as ClearML's Helm chart deploys one: a Namespace
 * (optional), a Secret with the API credentials (a ServiceAccount's, or a key pair given
 * directly; they reach the containers through `secretKeyRef` only), a Deployment, a ClusterIP
 * Service on the router's port, and optionally a Service for the raw TCP range, an Ingress and
 * a NetworkPolicy. With `waitForRegistration`, `pulumi up` also waits for the router to
 * register itself with the control API.
 *
 * Every argument is checked before anything is created, and all problems are reported at once
 * (a RouterDeploymentArgsError naming each argument).
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
    const parsed = parseRouterDeploymentArgs(args);
    if (parsed.settings === undefined) throw new RouterDeploymentArgsError(name, parsed.issues);
    const s = parsed.settings;

    super("appgw:index:RouterDeployment", name, {}, opts);
    for (const w of parsed.warnings) pulumi.log.warn(w, this);

    const routerName = pulumi.output(s.routerName);
    const selector = routerName.apply((instance) => ({
      "app.kubernetes.io/name": "appgw-router",
      "app.kubernetes.io/instance": instance,
    }));
    const labels = pulumi.all([pulumi.output(s.labels), selector]).apply(([extra, sel]) => ({
      ...extra,
      ...sel,
      "app.kubernetes.io/component": "router",
      "app.kubernetes.io/part-of": "appgw",
      "app.kubernetes.io/managed-by": "pulumi",
      "appgw.io/flavour": s.flavour,
    }));

    if (s.createNamespace) {
      this.namespaceResource = new k8s.core.v1.Namespace(
        `${name}-namespace`,
        { metadata: { name: s.namespace, labels } },
        { parent: this },
      );
    }
    // Through the Namespace's output, so every object waits for the namespace to exist.
    const namespace = this.namespaceResource
      ? this.namespaceResource.metadata.name
      : pulumi.output(s.namespace);

    // Both keys are marked secret, so the Secret's data never shows in plain text in state or
    // in a diff (a ServiceAccount's accessKey is not a secret output of its own).
    const accessKey = pulumi.secret(s.credentials.accessKey);
    const secretKey = pulumi.secret(s.credentials.secretKey);
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

    const { containers, volumes } = routerPod(s, this.secret.metadata.name);

    // Pods read the Secret only when they start: a checksum of the credentials in the pod
    // template rolls the pods when the credentials change (the Helm chart idiom).
    // A digest reveals nothing usable, and left secret it would make the whole Deployment spec
    // secret in state, hiding every diff of it.
    const credentialsChecksum = pulumi.unsecret(
      pulumi
        .all([accessKey, secretKey])
        .apply(([a, k]) => createHash("sha256").update(`${a}\0${k}`).digest("hex")),
    );

    this.deployment = new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: { name: routerName, namespace, labels },
        spec: {
          replicas: s.replicas,
          selector: { matchLabels: selector },
          template: {
            metadata: { labels, annotations: { "checksum/api-credentials": credentialsChecksum } },
            spec: {
              // Service links would add variables such as ROUTER_PORT or TCP_PORT (for Services
              // named router or tcp) to an environment that configures the router.
              enableServiceLinks: false,
              ...(s.serviceAccountName !== undefined
                ? { serviceAccountName: s.serviceAccountName }
                : s.flavour === "reference"
                  ? { automountServiceAccountToken: false }
                  : {}),
              ...(s.imagePullSecrets !== undefined
                ? {
                    imagePullSecrets: pulumi
                      .output(s.imagePullSecrets)
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
          ports: [{ name: "http", port: s.port, targetPort: "http", protocol: "TCP" }],
        },
      },
      { parent: this },
    );

    if (s.tcp) {
      const tcp = s.tcp;
      this.tcpService = new k8s.core.v1.Service(
        `${name}-tcp-service`,
        {
          metadata: { name: pulumi.interpolate`${routerName}-tcp`, namespace, labels },
          spec: {
            type: tcp.serviceType,
            selector,
            // A Service lists each port; the router advertises `<address>:<port>`, so with a
            // NodePort Service each node port must be the port itself.
            ports: pulumi
              .all([tcp.portStart, tcp.portEnd, tcp.serviceType])
              .apply(([start, end, type]) =>
                Array.from({ length: end - start + 1 }, (_, i) => start + i).map((p) => ({
                  name: `tcp-${p}`,
                  port: p,
                  targetPort: p,
                  protocol: "TCP",
                  ...(type === "NodePort" ? { nodePort: p } : {}),
                })),
              ),
          },
        },
        { parent: this },
      );
      this.tcpServiceName = this.tcpService.metadata.name;
    }

    if (s.ingress) {
      const ing = s.ingress;
      // Subdomain routes (`llm.<domain>`) reach the router through a wildcard rule.
      const hosts: pulumi.Input<string>[] = [ing.host];
      if (s.domain !== undefined && s.flavour === "reference")
        hosts.push(pulumi.interpolate`*.${s.domain}`);
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

    if (s.networkPolicy !== false) {
      const controllerNs = s.networkPolicy.ingressControllerNamespace;
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
          ports: [{ protocol: "TCP", port: s.port }],
        },
      ];
      if (s.tcp) {
        ingress.push({
          ports: [{ protocol: "TCP", port: s.tcp.portStart, endPort: s.tcp.portEnd }],
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

    if (s.waitForRegistration) {
      const imageList = containers.map((c) => c.image as pulumi.Input<string>);
      this.registration = new RouterRegistration(
        `${name}-registration`,
        {
          routerName,
          timeoutSec: s.waitForRegistration.timeoutSec,
          expectedUrl: s.externalUrl,
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
    this.url = pulumi.output(s.externalUrl);

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
