// RouterDeployment under Pulumi's mocks: no cluster here, so every object the component creates
// is recorded and its exact inputs are asserted (as pulumi-awsx tests its components). The last
// test runs our reference router with the environment the rendered Deployment gives it.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { honourSecretOutputs } from "../helpers/mocks";
import type * as Component from "../../provider/routerDeployment";

/** A rendered Kubernetes object, walked freely by the assertions below. */
type Obj = any;

/** What Pulumi's engine would have been asked to create. */
interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, Obj>;
}

let recorded: Recorded[] = [];
/** `additionalSecretOutputs` of each registration, by Pulumi name. */
const secretOutputs = new Map<string, string[]>();

const SA_KEYS = { accessKey: "SAACCESSKEY1", secretKey: "sa-secret-0123456789abcdef" };

const mocks: pulumi.runtime.Mocks = {
  newResource(args) {
    recorded.push({ type: args.type, name: args.name, inputs: args.inputs });
    const state: Record<string, Obj> = { ...args.inputs };
    if (args.type === "kubernetes:apps/v1:Deployment") {
      state.metadata = { ...args.inputs.metadata, generation: 3 };
    }
    if (args.type === "pulumi-nodejs:dynamic/appgw:ServiceAccount") {
      // What `auth.create_service_user` answers, as the provider records it.
      Object.assign(state, {
        allowRunningAsOwner: false,
        userId: "5a1e0000000000000000000000000001",
        accessKey: SA_KEYS.accessKey,
        secretKey: SA_KEYS.secretKey,
      });
    }
    if (args.type === "pulumi-nodejs:dynamic/appgw:RouterRegistration") {
      Object.assign(state, {
        // A router's id is its ROUTER_NAME.
        routerId: args.inputs.routerName,
        url: args.inputs.expectedUrl,
        version: "9.9.9",
        online: true,
      });
    }
    return { id: `${args.name}-id`, state };
  },
  call(args) {
    return args.inputs;
  },
};

/**
 * Pulumi's mocks, plus what the engine does with `additionalSecretOutputs` (the mock monitor
 * ignores it): the outputs named there come back as secrets.
 */
function installMocks(): void {
  // No stack config: another file's mocks may have left theirs (RouterRegistration records the
  // configured appgw:apiHost among its inputs).
  pulumi.runtime.setAllConfig({});
  pulumi.runtime.setMocks(mocks, "appgw", "test", false);
  honourSecretOutputs(secretOutputs);
}

// Before the component module loads: Pulumi reads its settings when resources are first made.
installMocks();
const { ServiceAccount } =
  require("../../provider/serviceAccount") as typeof import("../../provider/serviceAccount");
const {
  RouterDeployment,
  RouterDeploymentArgsError,
  ROUTER_DEPLOYMENT_DEFAULTS,
  validateRouterDeploymentArgs,
} = require("../../provider/routerDeployment") as typeof Component;

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Inputs as plain values: Pulumi's secret wrappers removed. */
function plain(v: Obj): Obj {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    if (SECRET_SIG in v) return plain(v.value);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

const isSecretInput = (v: Obj): boolean => Boolean(v && typeof v === "object" && SECRET_SIG in v);

const valueOf = <T>(o: pulumi.Output<T> | undefined): Promise<T | undefined> =>
  o === undefined
    ? Promise.resolve(undefined)
    : new Promise((resolve) => o.apply((v) => resolve(v)));

const TYPES = {
  namespace: "kubernetes:core/v1:Namespace",
  secret: "kubernetes:core/v1:Secret",
  deployment: "kubernetes:apps/v1:Deployment",
  service: "kubernetes:core/v1:Service",
  ingress: "kubernetes:networking.k8s.io/v1:Ingress",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  registration: "pulumi-nodejs:dynamic/appgw:RouterRegistration",
};

interface Rendered {
  c: Component.RouterDeployment;
  /** Every recorded resource but the component itself, by Pulumi name. */
  byName: Map<string, Recorded>;
  /** Plain inputs of the one resource named `<component name>-<suffix>`. */
  get(suffix: string): Record<string, Obj>;
}

/** Builds the component and waits until every child is registered. */
async function render(args: Component.RouterDeploymentArgs, name = "gw"): Promise<Rendered> {
  recorded = [];
  secretOutputs.clear();
  const c = new RouterDeployment(name, args);
  const children = [
    c.namespaceResource,
    c.secret,
    c.deployment,
    c.service,
    c.tcpService,
    c.ingress,
    c.networkPolicy,
    c.registration,
  ].filter((r): r is NonNullable<typeof r> => r !== undefined);
  await Promise.all(children.map((r) => valueOf(r.urn)));
  const byName = new Map(
    recorded.filter((r) => r.type !== "appgw:index:RouterDeployment").map((r) => [r.name, r]),
  );
  return {
    c,
    byName,
    get(suffix) {
      const r = byName.get(`${name}-${suffix}`);
      assert.ok(r, `no resource ${name}-${suffix}; created: ${[...byName.keys()].join(", ")}`);
      return plain(r.inputs);
    },
  };
}

/** The reference router's image, as built with gateway/Dockerfile and pushed. */
const ROUTER_IMAGE = "registry.example.com/appgw-gateway:0.3.0";

/** Reference flavour. */
const BASE: Component.RouterDeploymentArgs = {
  namespace: "gpu-net",
  routerName: "router-a",
  externalUrl: "https://router-a.example.com",
  apiHost: "http://api.appgw-control.svc:8008",
  accessKey: "ACCESSKEY123",
  secretKey: "super-secret-key-0123456789",
  images: { router: ROUTER_IMAGE },
};

/** ClearML flavour, with its default images. */
const CLEARML: Component.RouterDeploymentArgs = { ...BASE, flavour: "clearml", images: undefined };

const SELECTOR = {
  "app.kubernetes.io/name": "appgw-router",
  "app.kubernetes.io/instance": "router-a",
};
const labels = (flavour = "reference", extra: Record<string, string> = {}) => ({
  ...extra,
  ...SELECTOR,
  "app.kubernetes.io/component": "router",
  "app.kubernetes.io/part-of": "appgw",
  "app.kubernetes.io/managed-by": "pulumi",
  "appgw.io/flavour": flavour,
});
const checksum = (a: string, s: string) => createHash("sha256").update(`${a}\0${s}`).digest("hex");
const secretRef = (name: string) => ({
  name,
  valueFrom: { secretKeyRef: { name: "router-a-api-credentials", key: name } },
});

/** The rendered Secret holds exactly these keys, and Pulumi treats its data as secret. */
function assertCredentialsSecret(r: Rendered, accessKey: string, secretKey: string): void {
  const raw = r.byName.get("gw-secret")!.inputs;
  assert.ok(isSecretInput(raw.stringData), "the Secret's data is marked secret in Pulumi");
  assert.deepEqual(r.get("secret"), {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "router-a-api-credentials", namespace: "gpu-net", labels: labels() },
    type: "Opaque",
    stringData: { CLEARML_API_ACCESS_KEY: accessKey, CLEARML_API_SECRET_KEY: secretKey },
  });
}

describe("RouterDeployment (under Pulumi mocks)", () => {
  beforeEach(() => {
    // Other test files may install their own mocks; these must be ours.
    installMocks();
  });

  describe("reference flavour", () => {
    it("creates exactly a Namespace, a Secret, a Deployment, a Service and a NetworkPolicy by default", async () => {
      const { byName } = await render(BASE);
      assert.deepEqual(
        [...byName.values()].map((r) => `${r.type} ${r.name}`).sort(),
        [
          `${TYPES.deployment} gw-deployment`,
          `${TYPES.namespace} gw-namespace`,
          `${TYPES.networkPolicy} gw-network-policy`,
          `${TYPES.secret} gw-secret`,
          `${TYPES.service} gw-service`,
        ].sort(),
      );
    });

    it("runs one router container with the whole env contract, listening on all interfaces", async () => {
      const r = await render({ ...BASE, listenQueues: ["gpu", "cpu"], domain: "apps.example.com" });
      assert.deepEqual(r.get("deployment"), {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "router-a", namespace: "gpu-net", labels: labels() },
        spec: {
          replicas: 1,
          selector: { matchLabels: SELECTOR },
          template: {
            metadata: {
              labels: labels(),
              annotations: {
                "checksum/api-credentials": checksum("ACCESSKEY123", "super-secret-key-0123456789"),
              },
            },
            spec: {
              enableServiceLinks: false,
              automountServiceAccountToken: false,
              containers: [
                {
                  name: "router",
                  image: ROUTER_IMAGE,
                  args: ["--role", "router"],
                  env: [
                    { name: "ROUTER_NAME", value: "router-a" },
                    { name: "ROUTER_URL", value: "https://router-a.example.com" },
                    { name: "ROUTER_HOST", value: "0.0.0.0" },
                    { name: "ROUTER__WEBSERVER__SERVER_PORT", value: "8080" },
                    { name: "CLEARML_API_HOST", value: "http://api.appgw-control.svc:8008" },
                    secretRef("CLEARML_API_ACCESS_KEY"),
                    secretRef("CLEARML_API_SECRET_KEY"),
                    { name: "AUTH_COOKIE_NAME", value: "appgw_token" },
                    { name: "AUTH_SECURE_ENABLED", value: "true" },
                    { name: "LISTEN_QUEUE_NAME", value: "gpu cpu" },
                    { name: "ROUTER_DOMAIN", value: "apps.example.com" },
                  ],
                  ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
                  readinessProbe: {
                    httpGet: { path: "/_appgw/health", port: "http" },
                    initialDelaySeconds: 2,
                    periodSeconds: 5,
                    timeoutSeconds: 2,
                    failureThreshold: 3,
                  },
                  livenessProbe: {
                    httpGet: { path: "/_appgw/health", port: "http" },
                    initialDelaySeconds: 10,
                    periodSeconds: 10,
                    timeoutSeconds: 3,
                    failureThreshold: 6,
                  },
                  resources: {
                    requests: { cpu: "100m", memory: "128Mi" },
                    limits: { memory: "512Mi" },
                  },
                },
              ],
            },
          },
        },
      });
    });

    it("puts the API credentials in a Secret and never in a container's plain env", async () => {
      const r = await render({ ...BASE, accessKey: pulumi.secret("ACCESSKEY123") });
      assertCredentialsSecret(r, "ACCESSKEY123", "super-secret-key-0123456789");
      const spec = r.get("deployment").spec.template.spec;
      for (const container of spec.containers) {
        for (const e of container.env) {
          assert.ok(
            !("value" in e) || !/ACCESSKEY123|super-secret-key/.test(e.value),
            `${e.name} holds a credential`,
          );
        }
        assert.deepEqual(
          container.env.filter((e: Obj) => e.valueFrom).map((e: Obj) => e.valueFrom.secretKeyRef),
          [
            { name: "router-a-api-credentials", key: "CLEARML_API_ACCESS_KEY" },
            { name: "router-a-api-credentials", key: "CLEARML_API_SECRET_KEY" },
          ],
        );
      }
      // Nor anywhere else in the pod template, and the Deployment itself is not secret in state
      // (which would hide every diff of it).
      assert.doesNotMatch(JSON.stringify(spec), /ACCESSKEY123|super-secret-key/);
      assert.ok(!isSecretInput(r.byName.get("gw-deployment")!.inputs.spec));
    });

    it("takes the router's keys from a ServiceAccount: in the Secret only, marked secret", async () => {
      const account = new ServiceAccount("router-account", { name: "appgw-router-a" });
      const args: Component.RouterDeploymentArgs = { ...BASE, serviceAccount: account };
      delete args.accessKey;
      delete args.secretKey;
      const r = await render(args);

      // The account's secret is a secret from the moment it exists (additionalSecretOutputs).
      assert.deepEqual(secretOutputs.get("router-account"), ["secretKey"]);
      assert.equal(await pulumi.isSecret(account.secretKey), true);
      assert.equal(await pulumi.isSecret(account.accessKey), false);

      assertCredentialsSecret(r, SA_KEYS.accessKey, SA_KEYS.secretKey);

      const deployment = r.get("deployment");
      const [container] = deployment.spec.template.spec.containers;
      assert.deepEqual(
        container.env.filter((e: Obj) => e.name.startsWith("CLEARML_API_")),
        [
          { name: "CLEARML_API_HOST", value: "http://api.appgw-control.svc:8008" },
          secretRef("CLEARML_API_ACCESS_KEY"),
          secretRef("CLEARML_API_SECRET_KEY"),
        ],
      );
      assert.doesNotMatch(JSON.stringify(deployment), new RegExp(SA_KEYS.secretKey));
      assert.ok(!isSecretInput(r.byName.get("gw-deployment")!.inputs.spec));
      // New keys (a replaced account) roll the pods.
      assert.equal(
        deployment.spec.template.metadata.annotations["checksum/api-credentials"],
        checksum(SA_KEYS.accessKey, SA_KEYS.secretKey),
      );
    });

    it("takes a key pair given as a plain serviceAccount object, and marks both keys secret", async () => {
      const args: Component.RouterDeploymentArgs = {
        ...BASE,
        serviceAccount: { accessKey: "PLAINKEY", secretKey: "plain-secret-0123456789" },
      };
      delete args.accessKey;
      delete args.secretKey;
      const r = await render(args);
      assert.ok(isSecretInput(r.byName.get("gw-secret")!.inputs.stringData));
      assert.deepEqual(r.get("secret").stringData, {
        CLEARML_API_ACCESS_KEY: "PLAINKEY",
        CLEARML_API_SECRET_KEY: "plain-secret-0123456789",
      });
    });

    it("rolls the pods when the credentials change, through a checksum in the pod template", async () => {
      const a = (await render(BASE)).get("deployment").spec.template.metadata.annotations;
      const b = (await render({ ...BASE, secretKey: "rotated-secret" })).get("deployment").spec
        .template.metadata.annotations;
      assert.notEqual(a["checksum/api-credentials"], b["checksum/api-credentials"]);
      assert.equal(b["checksum/api-credentials"], checksum("ACCESSKEY123", "rotated-secret"));
    });

    it("creates the namespace, and puts every object in it", async () => {
      const r = await render(BASE);
      assert.deepEqual(r.get("namespace"), {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "gpu-net", labels: labels() },
      });
      for (const [, rec] of r.byName) {
        if (rec.type !== TYPES.namespace && rec.type.startsWith("kubernetes:")) {
          assert.equal(plain(rec.inputs).metadata.namespace, "gpu-net", rec.name);
        }
      }
    });

    it("uses an existing namespace when createNamespace is false", async () => {
      const r = await render({ ...BASE, namespace: "default", createNamespace: false });
      assert.equal(r.byName.get("gw-namespace"), undefined);
      assert.equal(r.get("deployment").metadata.namespace, "default");
      assert.equal(await valueOf(r.c.namespace), "default");
    });

    it("fills every argument left out with its default", async () => {
      // Only what has no default: identity, URLs, keys and the image.
      const r = await render({
        routerName: "router-a",
        externalUrl: "https://router-a.example.com",
        apiHost: "http://api.appgw-control.svc:8008",
        accessKey: "ACCESSKEY123",
        secretKey: "super-secret-key-0123456789",
        images: { router: ROUTER_IMAGE },
      });
      // A Namespace named appgw, a NetworkPolicy, and no TCP Service, Ingress or wait.
      assert.deepEqual([...r.byName.keys()].sort(), [
        "gw-deployment",
        "gw-namespace",
        "gw-network-policy",
        "gw-secret",
        "gw-service",
      ]);
      assert.equal(r.get("namespace").metadata.name, "appgw");
      const probe = { httpGet: { path: "/_appgw/health", port: "http" } };
      assert.deepEqual(r.get("deployment").spec, {
        replicas: 1,
        selector: { matchLabels: SELECTOR },
        template: {
          metadata: {
            labels: labels(),
            annotations: {
              "checksum/api-credentials": checksum("ACCESSKEY123", "super-secret-key-0123456789"),
            },
          },
          spec: {
            enableServiceLinks: false,
            automountServiceAccountToken: false,
            containers: [
              {
                name: "router",
                image: ROUTER_IMAGE,
                args: ["--role", "router"],
                env: [
                  { name: "ROUTER_NAME", value: "router-a" },
                  { name: "ROUTER_URL", value: "https://router-a.example.com" },
                  { name: "ROUTER_HOST", value: "0.0.0.0" },
                  { name: "ROUTER__WEBSERVER__SERVER_PORT", value: "8080" },
                  { name: "CLEARML_API_HOST", value: "http://api.appgw-control.svc:8008" },
                  secretRef("CLEARML_API_ACCESS_KEY"),
                  secretRef("CLEARML_API_SECRET_KEY"),
                  { name: "AUTH_COOKIE_NAME", value: "appgw_token" },
                  { name: "AUTH_SECURE_ENABLED", value: "true" },
                ],
                ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
                readinessProbe: {
                  ...probe,
                  initialDelaySeconds: 2,
                  periodSeconds: 5,
                  timeoutSeconds: 2,
                  failureThreshold: 3,
                },
                livenessProbe: {
                  ...probe,
                  initialDelaySeconds: 10,
                  periodSeconds: 10,
                  timeoutSeconds: 3,
                  failureThreshold: 6,
                },
                resources: {
                  requests: { cpu: "100m", memory: "128Mi" },
                  limits: { memory: "512Mi" },
                },
              },
            ],
          },
        },
      });
      assert.equal(r.get("deployment").metadata.namespace, "appgw");
      assert.deepEqual(r.get("service").spec.ports, [
        { name: "http", port: 8080, targetPort: "http", protocol: "TCP" },
      ]);
      assert.deepEqual(r.get("network-policy").spec.ingress, [
        { ports: [{ protocol: "TCP", port: 8080 }] },
      ]);
    });

    it("defaults the namespace to appgw", async () => {
      const noNamespace = { ...BASE };
      delete noNamespace.namespace;
      const r = await render(noNamespace);
      assert.equal(r.get("namespace").metadata.name, "appgw");
      assert.equal(r.get("service").metadata.namespace, "appgw");
    });

    it("exposes the router port on a ClusterIP Service selecting the Deployment's pods", async () => {
      const r = await render({ ...BASE, port: 9090 });
      assert.deepEqual(r.get("service"), {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "router-a", namespace: "gpu-net", labels: labels() },
        spec: {
          type: "ClusterIP",
          selector: SELECTOR,
          ports: [{ name: "http", port: 9090, targetPort: "http", protocol: "TCP" }],
        },
      });
      const container = r.get("deployment").spec.template.spec.containers[0];
      assert.deepEqual(container.ports, [{ name: "http", containerPort: 9090, protocol: "TCP" }]);
      assert.deepEqual(
        container.env.find((e: Obj) => e.name === "ROUTER__WEBSERVER__SERVER_PORT"),
        { name: "ROUTER__WEBSERVER__SERVER_PORT", value: "9090" },
      );
    });

    it("selects pods by name and instance only, and keeps extra labels off the selector", async () => {
      const r = await render({ ...BASE, labels: { team: "ml" } });
      const d = r.get("deployment");
      assert.deepEqual(d.spec.selector.matchLabels, SELECTOR);
      assert.deepEqual(d.spec.template.metadata.labels, labels("reference", { team: "ml" }));
      for (const [key, value] of Object.entries(SELECTOR)) {
        assert.equal(d.spec.template.metadata.labels[key], value);
      }
      assert.deepEqual(r.get("service").spec.selector, SELECTOR);
      assert.deepEqual(r.get("network-policy").spec.podSelector.matchLabels, SELECTOR);
      assert.deepEqual(r.get("secret").metadata.labels, labels("reference", { team: "ml" }));
    });

    it("sets the TCP variables and exposes the range on a NodePort Service whose node ports are the ports", async () => {
      const r = await render({
        ...BASE,
        tcp: { address: "203.0.113.7", portStart: 31000, portEnd: 31002 },
      });
      const env = r.get("deployment").spec.template.spec.containers[0].env;
      assert.deepEqual(env.slice(-3), [
        { name: "TCP_ROUTER_ADDRESS", value: "203.0.113.7" },
        { name: "TCP_PORT_START", value: "31000" },
        { name: "TCP_PORT_END", value: "31002" },
      ]);
      assert.deepEqual(r.get("tcp-service"), {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "router-a-tcp", namespace: "gpu-net", labels: labels() },
        spec: {
          type: "NodePort",
          selector: SELECTOR,
          ports: [31000, 31001, 31002].map((p) => ({
            name: `tcp-${p}`,
            port: p,
            targetPort: p,
            protocol: "TCP",
            nodePort: p,
          })),
        },
      });
      assert.equal(await valueOf(r.c.tcpServiceName), "router-a-tcp");
    });

    it("leaves node ports to the cluster on a LoadBalancer TCP Service", async () => {
      const r = await render({
        ...BASE,
        tcp: {
          address: "tcp.example.com",
          portStart: 10000,
          portEnd: 10001,
          serviceType: "LoadBalancer",
        },
      });
      assert.deepEqual(r.get("tcp-service").spec, {
        type: "LoadBalancer",
        selector: SELECTOR,
        ports: [
          { name: "tcp-10000", port: 10000, targetPort: 10000, protocol: "TCP" },
          { name: "tcp-10001", port: 10001, targetPort: 10001, protocol: "TCP" },
        ],
      });
    });

    it("routes the Ingress host (and *.domain for subdomain routes) to the Service, with class and TLS", async () => {
      const r = await render({
        ...BASE,
        domain: "router-a.example.com",
        ingress: {
          host: "router-a.example.com",
          className: "nginx",
          tlsSecretName: "router-a-tls",
          annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
        },
      });
      const rule = (host: string) => ({
        host,
        http: {
          paths: [
            {
              path: "/",
              pathType: "Prefix",
              backend: { service: { name: "router-a", port: { name: "http" } } },
            },
          ],
        },
      });
      assert.deepEqual(r.get("ingress"), {
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: {
          name: "router-a",
          namespace: "gpu-net",
          labels: labels(),
          annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
        },
        spec: {
          ingressClassName: "nginx",
          tls: [
            {
              hosts: ["router-a.example.com", "*.router-a.example.com"],
              secretName: "router-a-tls",
            },
          ],
          rules: [rule("router-a.example.com"), rule("*.router-a.example.com")],
        },
      });
      assert.equal(await valueOf(r.c.ingressHost), "router-a.example.com");
    });

    it("renders a minimal Ingress with the cluster's default class and no TLS", async () => {
      const r = await render({ ...BASE, ingress: { host: "router-a.example.com" } });
      const ing = r.get("ingress");
      assert.deepEqual(Object.keys(ing.spec), ["rules"]);
      assert.equal(ing.metadata.annotations, undefined);
      assert.deepEqual(
        ing.spec.rules.map((x: Obj) => x.host),
        ["router-a.example.com"],
      );
    });

    it("allows ingress to the router port from anywhere and to the TCP range, and all egress", async () => {
      const r = await render({
        ...BASE,
        tcp: { address: "203.0.113.7", portStart: 31000, portEnd: 31099 },
      });
      assert.deepEqual(r.get("network-policy"), {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "router-a", namespace: "gpu-net", labels: labels() },
        spec: {
          podSelector: { matchLabels: SELECTOR },
          policyTypes: ["Ingress", "Egress"],
          ingress: [
            { ports: [{ protocol: "TCP", port: 8080 }] },
            { ports: [{ protocol: "TCP", port: 31000, endPort: 31099 }] },
          ],
          egress: [{}],
        },
      });
    });

    it("allows the router port only from the ingress controller's namespace when given", async () => {
      const r = await render({
        ...BASE,
        networkPolicy: { ingressControllerNamespace: "ingress-nginx" },
      });
      assert.deepEqual(r.get("network-policy").spec.ingress, [
        {
          from: [
            {
              namespaceSelector: {
                matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" },
              },
            },
          ],
          ports: [{ protocol: "TCP", port: 8080 }],
        },
      ]);
    });

    it("creates no NetworkPolicy when networkPolicy is false", async () => {
      const r = await render({ ...BASE, networkPolicy: false });
      assert.equal(r.byName.get("gw-network-policy"), undefined);
      assert.equal(r.c.networkPolicy, undefined);
    });

    it("applies overrides: cookie, secure flag, replicas, resources, image, pull secrets, service account, extra env", async () => {
      const resources = {
        requests: { cpu: "1", memory: "1Gi" },
        limits: { cpu: "2", memory: "2Gi" },
      };
      const r = await render({
        ...BASE,
        externalUrl: "http://localhost:8080",
        authCookieName: "clearml_token_basic",
        authSecureEnabled: false,
        replicas: 3,
        resources,
        images: { router: "registry.local/appgw/router:dev" },
        imagePullSecrets: ["regcred"],
        serviceAccountName: "router-sa",
        healthCheckPath: "/healthz",
        extraEnv: [{ name: "LOG_LEVEL", value: "debug" }],
      });
      const d = r.get("deployment");
      const pod = d.spec.template.spec;
      const container = pod.containers[0];
      assert.equal(d.spec.replicas, 3);
      assert.deepEqual(pod.imagePullSecrets, [{ name: "regcred" }]);
      assert.equal(pod.serviceAccountName, "router-sa");
      assert.equal(pod.automountServiceAccountToken, undefined);
      assert.equal(container.image, "registry.local/appgw/router:dev");
      assert.deepEqual(container.resources, resources);
      assert.deepEqual(container.readinessProbe.httpGet, { path: "/healthz", port: "http" });
      const env = Object.fromEntries(container.env.map((e: Obj) => [e.name, e.value]));
      assert.equal(env.AUTH_COOKIE_NAME, "clearml_token_basic");
      assert.equal(env.AUTH_SECURE_ENABLED, "false");
      assert.equal(env.ROUTER_URL, "http://localhost:8080");
      assert.deepEqual(container.env.at(-1), { name: "LOG_LEVEL", value: "debug" });
    });
  });

  describe("clearml flavour", () => {
    it("runs ClearML's router and proxy containers with ClearML's env names; the proxy serves the port", async () => {
      const r = await render({
        ...CLEARML,
        port: 8010,
        listenQueues: ["q1", "q2"],
        tcp: { address: "203.0.113.7", portStart: 31000, portEnd: 31001 },
        imagePullSecrets: ["clearml-dockerhub"],
      });
      const shared = [
        { name: "nginx-conf", mountPath: "/etc/nginx/conf.d" },
        { name: "nginx-lua", mountPath: "/usr/local/openresty/nginx/lua" },
      ];
      const tcpCheck = { tcpSocket: { port: "http" } };
      assert.deepEqual(r.get("deployment"), {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "router-a", namespace: "gpu-net", labels: labels("clearml") },
        spec: {
          replicas: 1,
          selector: { matchLabels: SELECTOR },
          template: {
            metadata: {
              labels: labels("clearml"),
              annotations: {
                "checksum/api-credentials": checksum("ACCESSKEY123", "super-secret-key-0123456789"),
              },
            },
            spec: {
              enableServiceLinks: false,
              imagePullSecrets: [{ name: "clearml-dockerhub" }],
              containers: [
                {
                  name: "router",
                  image: "clearml/ai-gateway-router:2.14.0",
                  env: [
                    { name: "ROUTER__WEBSERVER__AUTO_RELOAD_CONFIG", value: "true" },
                    { name: "ROUTER_NAME", value: "router-a" },
                    { name: "LISTEN_QUEUE_NAME", value: "q1 q2" },
                    { name: "ROUTER__WEBSERVER__SERVER_PORT", value: "8010" },
                    { name: "ROUTER_URL", value: "https://router-a.example.com" },
                    { name: "CLEARML_API_HOST", value: "http://api.appgw-control.svc:8008" },
                    secretRef("CLEARML_API_ACCESS_KEY"),
                    secretRef("CLEARML_API_SECRET_KEY"),
                    { name: "AUTH_COOKIE_NAME", value: "appgw_token" },
                    { name: "ROUTER__HTTP__AUTHORIZATION__COOKIE__SECURE", value: "true" },
                    { name: "ROUTER__STREAM__EXTERNAL_URL", value: "203.0.113.7" },
                    { name: "ROUTER__STREAM__PORT_RANGE__START", value: "31000" },
                    { name: "ROUTER__STREAM__PORT_RANGE__END", value: "31001" },
                  ],
                  volumeMounts: shared,
                  resources: ROUTER_DEPLOYMENT_DEFAULTS.resources,
                },
                {
                  name: "proxy",
                  image: "clearml/ai-gateway-proxy:1.8.1",
                  env: [{ name: "ROUTER__WEBSERVER__AUTO_RELOAD_CONFIG", value: "true" }],
                  ports: [{ name: "http", containerPort: 8010, protocol: "TCP" }],
                  volumeMounts: shared.map((m) => ({ ...m, readOnly: true })),
                  readinessProbe: {
                    ...tcpCheck,
                    initialDelaySeconds: 2,
                    periodSeconds: 5,
                    timeoutSeconds: 2,
                    failureThreshold: 3,
                  },
                  livenessProbe: {
                    ...tcpCheck,
                    initialDelaySeconds: 10,
                    periodSeconds: 10,
                    timeoutSeconds: 3,
                    failureThreshold: 6,
                  },
                  resources: ROUTER_DEPLOYMENT_DEFAULTS.resources,
                },
              ],
              volumes: [
                { name: "nginx-conf", emptyDir: {} },
                { name: "nginx-lua", emptyDir: {} },
              ],
            },
          },
        },
      });
      // Same Secret, Services and policy as the reference flavour.
      assert.deepEqual(r.get("service").spec.ports, [
        { name: "http", port: 8010, targetPort: "http", protocol: "TCP" },
      ]);
      assert.equal(r.get("tcp-service").spec.ports.length, 2);
      assert.deepEqual(Object.keys(r.get("secret").stringData), [
        "CLEARML_API_ACCESS_KEY",
        "CLEARML_API_SECRET_KEY",
      ]);
    });

    it("defaults to ClearML's published images, a TCP probe of the proxy and a NodePort TCP Service", async () => {
      const r = await render({
        ...CLEARML,
        tcp: { address: "203.0.113.7", portStart: 31000, portEnd: 31000 },
      });
      const [router, proxy] = r.get("deployment").spec.template.spec.containers;
      assert.equal(router.image, "clearml/ai-gateway-router:2.14.0");
      assert.equal(proxy.image, "clearml/ai-gateway-proxy:1.8.1");
      assert.deepEqual(proxy.readinessProbe.tcpSocket, { port: "http" });
      assert.equal(proxy.readinessProbe.httpGet, undefined);
      assert.deepEqual(
        router.env.find((e: Obj) => e.name === "ROUTER__HTTP__AUTHORIZATION__COOKIE__SECURE"),
        { name: "ROUTER__HTTP__AUTHORIZATION__COOKIE__SECURE", value: "true" },
      );
      assert.equal(r.get("tcp-service").spec.type, "NodePort");
      assert.deepEqual(r.get("tcp-service").spec.ports[0].nodePort, 31000);
    });

    it("probes the proxy over HTTP when a health path is given, and takes image overrides", async () => {
      const r = await render({
        ...CLEARML,
        healthCheckPath: "/health",
        images: {
          router: "clearml/ai-gateway-router:2.15.0",
          proxy: "clearml/ai-gateway-proxy:1.9.0",
        },
      });
      const [router, proxy] = r.get("deployment").spec.template.spec.containers;
      assert.equal(router.image, "clearml/ai-gateway-router:2.15.0");
      assert.equal(proxy.image, "clearml/ai-gateway-proxy:1.9.0");
      assert.deepEqual(proxy.livenessProbe.httpGet, { path: "/health", port: "http" });
      assert.equal(proxy.livenessProbe.tcpSocket, undefined);
      assert.equal(router.livenessProbe, undefined);
    });
  });

  describe("registration wait", () => {
    it("waits for the router with a RouterRegistration fed by the Deployment's generation and images", async () => {
      const r = await render({ ...BASE, waitForRegistration: { timeoutSec: 120 } });
      const reg = r.get("registration");
      assert.equal(typeof reg.__provider, "string");
      const inputs = { ...reg };
      delete inputs.__provider;
      assert.deepEqual(inputs, {
        routerName: "router-a",
        timeoutSec: 120,
        expectedUrl: "https://router-a.example.com",
        namespace: "gpu-net",
        triggers: ["3", ROUTER_IMAGE],
      });
      assert.deepEqual(await valueOf(r.c.registered), {
        routerId: "router-a",
        url: "https://router-a.example.com",
        version: "9.9.9",
        online: true,
      });
    });

    it("defaults the wait to 300 seconds and does not wait unless asked", async () => {
      assert.equal(
        (await render({ ...BASE, waitForRegistration: {} })).get("registration").timeoutSec,
        300,
      );
      const r = await render(BASE);
      assert.equal(r.c.registration, undefined);
      assert.equal(r.c.registered, undefined);
    });
  });

  it("publishes namespace, deployment, service, url and ingress host as outputs", async () => {
    const r = await render({ ...BASE, ingress: { host: "router-a.example.com" } });
    assert.deepEqual(
      {
        namespace: await valueOf(r.c.namespace),
        deploymentName: await valueOf(r.c.deploymentName),
        serviceName: await valueOf(r.c.serviceName),
        secretName: await valueOf(r.c.secretName),
        url: await valueOf(r.c.url),
        ingressHost: await valueOf(r.c.ingressHost),
        tcpServiceName: await valueOf(r.c.tcpServiceName),
      },
      {
        namespace: "gpu-net",
        deploymentName: "router-a",
        serviceName: "router-a",
        secretName: "router-a-api-credentials",
        url: "https://router-a.example.com",
        ingressHost: "router-a.example.com",
        tcpServiceName: undefined,
      },
    );
  });

  describe("validation", () => {
    const failure = (
      args: Partial<Component.RouterDeploymentArgs>,
    ): InstanceType<typeof RouterDeploymentArgsError> => {
      recorded = [];
      try {
        new RouterDeployment("bad", { ...BASE, ...args } as Component.RouterDeploymentArgs);
      } catch (err) {
        assert.ok(err instanceof RouterDeploymentArgsError, String(err));
        return err;
      }
      assert.fail("expected the arguments to be refused");
    };

    it("names the bad argument, and creates nothing", async () => {
      const err = failure({ tcp: { address: "203.0.113.7", portStart: 31010, portEnd: 31000 } });
      assert.deepEqual(err.issues, [
        "tcp.portStart: (31010) must not be above tcp.portEnd (31000)",
      ]);
      assert.match(
        err.message,
        /^RouterDeployment 'bad' has invalid arguments:\n {2}- tcp\.portStart/,
      );
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(recorded, []);
    });

    it("lists every problem at once", () => {
      const err = failure({
        routerName: "Router_A",
        externalUrl: "ftp://router",
        apiHost: "not a url",
        replicas: 0,
        port: 70000,
        authCookieName: "bad cookie",
        listenQueues: ["ok", "has space"],
        flavour: "other" as never,
      });
      assert.deepEqual(
        err.issues.map((i) => i.split(":")[0]),
        [
          "routerName",
          "externalUrl",
          "apiHost",
          "authCookieName",
          "listenQueues[1]",
          "port",
          "replicas",
          "flavour",
        ],
      );
      for (const arg of ["routerName", "externalUrl", "apiHost", "replicas", "port", "flavour"]) {
        assert.match(err.message, new RegExp(`- ${arg}: `));
      }
    });

    it("explains why routerName must be a short DNS label", () => {
      const [issue] = failure({ routerName: "a".repeat(60) }).issues;
      assert.match(
        issue ?? "",
        /^routerName: must be a DNS label of at most 59 characters.*'<routerName>-tcp'/,
      );
    });

    it("refuses Secure cookies on a plain-http external URL other than localhost", () => {
      const [issue] = failure({ externalUrl: "http://10.0.0.5:8080" }).issues;
      assert.match(
        issue ?? "",
        /^authSecureEnabled: is true but externalUrl is plain http .*authSecureEnabled: false/,
      );
      assert.doesNotThrow(() =>
        validateRouterDeploymentArgs({
          ...BASE,
          externalUrl: "http://localhost:8080",
        }).issues.forEach((i) => assert.fail(i)),
      );
    });

    it("refuses to create a namespace that always exists", () => {
      assert.deepEqual(failure({ namespace: "kube-system" }).issues, [
        "namespace: 'kube-system' always exists: set createNamespace: false to deploy into it",
      ]);
    });

    it("refuses missing required arguments by name", () => {
      const err = failure({
        routerName: undefined,
        accessKey: undefined,
        secretKey: "  ",
      } as never);
      assert.deepEqual(err.issues, [
        "routerName: is required",
        "accessKey: is required (or give serviceAccount)",
        "secretKey: must be a non-empty string",
      ]);
    });

    it("refuses a service account together with direct keys, and incomplete service account keys", () => {
      assert.deepEqual(failure({ serviceAccount: { accessKey: "K", secretKey: "S" } }).issues, [
        "serviceAccount: give either serviceAccount or accessKey and secretKey, not both: the router has one identity",
      ]);
      const err = failure({
        accessKey: undefined,
        secretKey: undefined,
        serviceAccount: { accessKey: undefined, secretKey: " " } as never,
      });
      assert.deepEqual(err.issues, [
        "serviceAccount.accessKey: is required",
        "serviceAccount.secretKey: must be a non-empty string",
      ]);
    });

    it("refuses TCP settings that cannot work", () => {
      const err = failure({
        port: 31005,
        tcp: {
          address: "tcp://host",
          portStart: 31000,
          portEnd: 31010,
          serviceType: "ClusterIP" as never,
        },
      });
      // In the order of the arguments: port comes before tcp.
      assert.deepEqual(
        err.issues.map((i) => i.split(":")[0]),
        ["port", "tcp.address", "tcp.serviceType"],
      );
    });

    it("refuses the reference flavour without a router image, naming images.router and how to build one", async () => {
      const issue =
        "images.router: is required for flavour 'reference': no image of the reference router is " +
        "published. Build one at this repository's root with `docker build -f gateway/Dockerfile " +
        "-t <registry>/appgw-gateway:<version> .`, push it where the cluster pulls from, and set " +
        "images.router to it";
      for (const images of [undefined, {}, { router: undefined }]) {
        const err = failure({ images });
        assert.deepEqual(err.issues, [issue]);
        assert.equal(err.message, `RouterDeployment 'bad' has invalid arguments:\n  - ${issue}`);
      }
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(recorded, [], "nothing is created");
      // ClearML's flavour has default images.
      assert.deepEqual(validateRouterDeploymentArgs(CLEARML), { issues: [], warnings: [] });
    });

    it("refuses a proxy image for the one-container flavour, reserved labels and managed env names", () => {
      const err = failure({
        images: { router: ROUTER_IMAGE, proxy: "x/proxy:1" },
        labels: { "app.kubernetes.io/instance": "other" },
        extraEnv: [
          { name: "LOG_LEVEL", value: "x" },
          { name: "ROUTER_URL", value: "https://elsewhere" },
        ],
        waitForRegistration: { timeoutSec: 0 },
      });
      assert.deepEqual(
        err.issues.map((i) => i.split(":")[0]),
        [
          "images.proxy",
          "labels.app.kubernetes.io/instance",
          "extraEnv[1]",
          "waitForRegistration.timeoutSec",
        ],
      );
    });

    it("checks the Ingress and NetworkPolicy arguments", () => {
      const err = failure({
        ingress: {
          host: "Router.Example.com",
          className: "Nginx Class",
          tlsSecretName: "tls_secret",
        },
        networkPolicy: { ingressControllerNamespace: "Ingress" },
      });
      assert.deepEqual(
        err.issues.map((i) => i.split(":")[0]),
        [
          "ingress.host",
          "ingress.className",
          "ingress.tlsSecretName",
          "networkPolicy.ingressControllerNamespace",
        ],
      );
    });

    it("leaves values that are Outputs or promises to be known at up", async () => {
      const r = await render({
        ...BASE,
        routerName: pulumi.output("router-a"),
        images: { router: Promise.resolve(ROUTER_IMAGE) },
        externalUrl: pulumi.output("https://router-a.example.com"),
        replicas: pulumi.output(2),
        tcp: {
          address: pulumi.output("203.0.113.7"),
          portStart: pulumi.output(31000),
          portEnd: 31000,
        },
      });
      assert.equal(r.get("deployment").spec.replicas, 2);
      assert.equal(r.get("deployment").spec.template.spec.containers[0].image, ROUTER_IMAGE);
      assert.deepEqual(
        r.get("tcp-service").spec.ports.map((p: Obj) => p.port),
        [31000],
      );
    });

    it("warns, without refusing, about settings that are allowed but probably wrong", () => {
      const { issues, warnings } = validateRouterDeploymentArgs({
        ...BASE,
        flavour: "clearml",
        domain: "apps.example.com",
        replicas: 2,
        tcp: { address: "203.0.113.7", portStart: 40000, portEnd: 40010 },
        ingress: { host: "other.example.com" },
      });
      assert.deepEqual(issues, []);
      assert.deepEqual(warnings, [
        "domain (ROUTER_DOMAIN) is read by the reference router only; flavour 'clearml' ignores it",
        "tcp: with serviceType NodePort every port of 40000-40010 is also a node port; the cluster " +
          "must allow them (--service-node-port-range, 30000-32767 by default)",
        "tcp with replicas > 1: the TCP Service spreads each port's connections over all replicas",
        "ingress.host (other.example.com) is not the host of externalUrl (router-a.example.com): " +
          "the router advertises externalUrl",
      ]);
    });
  });
});

describe("RouterDeployment's reference container against a real control API", () => {
  it("starts our router with exactly the rendered environment, logged in as a service account, and sees it registered", async function () {
    this.timeout(30_000);
    // Loaded here so that the mock tests above run even if the router module cannot load.
    const { eventually, startTestGateway } =
      require("../helpers/gateway") as typeof import("../helpers/gateway");
    const { routerConfigFromEnv, startRouter } =
      require("../../gateway/router") as typeof import("../../gateway/router");
    const pino = require("pino") as typeof import("pino");

    const t = await startTestGateway({ router: false, agent: false });
    let router: { url: string; close(): Promise<void> } | undefined;
    try {
      installMocks();
      // The router's own identity, as a ServiceAccount resource creates it.
      const { credentials } = await t.client.auth.createServiceUser({ name: "router-it-account" });
      const externalUrl = "https://router-it.example.test";
      const r = await render({
        routerName: "router-it",
        namespace: "it",
        images: { router: ROUTER_IMAGE },
        externalUrl,
        apiHost: t.apiUrl,
        serviceAccount: {
          accessKey: credentials.access_key,
          secretKey: pulumi.secret(credentials.secret_key),
        },
        listenQueues: ["default"],
      });
      const secret = r.get("secret");
      const [container] = r.get("deployment").spec.template.spec.containers;
      // The container's environment as the kubelet would build it: secretKeyRefs resolved
      // from the rendered Secret.
      const env: NodeJS.ProcessEnv = {};
      for (const e of container.env) {
        if (e.valueFrom) {
          assert.equal(e.valueFrom.secretKeyRef.name, secret.metadata.name);
          env[e.name] = secret.stringData[e.valueFrom.secretKeyRef.key];
        } else {
          env[e.name] = e.value;
        }
      }
      assert.equal(env.CLEARML_API_ACCESS_KEY, credentials.access_key);
      assert.equal(env.ROUTER_HOST, "0.0.0.0");
      assert.equal(env.ROUTER__WEBSERVER__SERVER_PORT, "8080");
      // Only these two differ from the pod: port 0 because 8080 may be taken on the machine
      // running the tests (a pod has its own network namespace), and loopback so the test does
      // not open a router on every interface of that machine (in a pod, 0.0.0.0 is what lets
      // the Service, the probes and the ingress controller reach it).
      env.ROUTER__WEBSERVER__SERVER_PORT = "0";
      env.ROUTER_HOST = "127.0.0.1";

      const config = routerConfigFromEnv(env);
      router = await startRouter(config, {
        logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }),
      });

      // Listed by routers.get_task_routers under its ROUTER_NAME: registered and reporting.
      const registered = await eventually(
        () => t.client.routers.find("router-it"),
        10_000,
        "router-it to be listed",
      );
      assert.equal(registered.router, "router-it");
      assert.equal(registered.url, externalUrl);
      assert.equal(router.url, externalUrl);
    } finally {
      await router?.close();
      await t.stop();
    }
  });
});
