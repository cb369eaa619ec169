// The router's containers, by flavour: our router alone, or ClearML's router (controller) and
// proxy sharing the proxy's configuration through emptyDir volumes.
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { RouterDeploymentSettings } from "./args";
import { clearmlRouterEnv, referenceEnv } from "./env";

type EnvVar = k8s.types.input.core.v1.EnvVar;
type Container = k8s.types.input.core.v1.Container;
type Probe = k8s.types.input.core.v1.Probe;
type Volume = k8s.types.input.core.v1.Volume;

/** Where ClearML's router writes the proxy's configuration and the proxy reads it (ClearML's compose file). */
const CLEARML_SHARED_DIRS = [
  { name: "nginx-conf", mountPath: "/etc/nginx/conf.d" },
  { name: "nginx-lua", mountPath: "/usr/local/openresty/nginx/lua" },
];

/** The containers (and volumes) of the router's pod, reading the API keys from `secretName`. */
export function routerPod(
  s: RouterDeploymentSettings,
  secretName: pulumi.Input<string>,
): { containers: Container[]; volumes?: Volume[] } {
  // `extraEnv` comes last: validation keeps it from repeating a variable set above.
  const withExtra = (env: EnvVar[]) =>
    pulumi.all([env, s.extraEnv]).apply(([a, b]) => [...a, ...b]);
  const httpPort = { name: "http", containerPort: s.port, protocol: "TCP" };

  if (s.flavour === "reference") {
    return {
      containers: [
        {
          name: "router",
          image: s.images.router,
          // The image runs the gateway (gateway/Dockerfile); this role starts the router alone.
          args: ["--role", "router"],
          env: withExtra(referenceEnv(s, secretName)),
          ports: [httpPort],
          ...probes({ httpGet: { path: s.healthCheckPath, port: "http" } }),
          resources: s.resources,
        },
      ],
    };
  }

  // As ClearML's compose file: the router (controller) writes the proxy's nginx/lua
  // configuration into shared folders, the proxy (OpenResty) reads it and serves the port and
  // the TCP range. In a pod the folders are emptyDir volumes. ClearML documents no health
  // path, so the proxy is probed by a TCP connect unless one is given.
  const check =
    s.healthCheckPath !== undefined
      ? { httpGet: { path: s.healthCheckPath, port: "http" } }
      : { tcpSocket: { port: "http" } };
  return {
    containers: [
      {
        name: "router",
        image: s.images.router,
        env: withExtra(clearmlRouterEnv(s, secretName)),
        volumeMounts: CLEARML_SHARED_DIRS.map((d) => ({ ...d })),
        resources: s.resources,
      },
      {
        name: "proxy",
        image: s.images.proxy,
        env: [{ name: "ROUTER__WEBSERVER__AUTO_RELOAD_CONFIG", value: "true" }],
        ports: [httpPort],
        volumeMounts: CLEARML_SHARED_DIRS.map((d) => ({ ...d, readOnly: true })),
        ...probes(check),
        resources: s.resources,
      },
    ],
    volumes: CLEARML_SHARED_DIRS.map((d) => ({ name: d.name, emptyDir: {} })),
  };
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
