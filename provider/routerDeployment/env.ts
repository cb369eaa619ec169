// The router container's environment, one builder per flavour. Both flavours read the env
// contract of ClearML's router (its installation guides; README, "The reference gateway"); they
// differ in the names of the cookie flag and of the TCP ("stream") range.
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { RouterFlavour } from "../routerDeployment";
import type { RouterDeploymentSettings } from "./args";

type EnvVar = k8s.types.input.core.v1.EnvVar;

/** Keys of the credentials Secret, named after the variables they feed. */
export const CREDENTIALS_KEYS = {
  accessKey: "CLEARML_API_ACCESS_KEY",
  secretKey: "CLEARML_API_SECRET_KEY",
} as const;

/** Every variable the component may set from its arguments, by flavour: `extraEnv` may not repeat them. */
export const MANAGED_ENV: Record<RouterFlavour, readonly string[]> = {
  reference: `ROUTER_NAME ROUTER_URL ROUTER_HOST ROUTER__WEBSERVER__SERVER_PORT CLEARML_API_HOST
    CLEARML_API_ACCESS_KEY CLEARML_API_SECRET_KEY AUTH_COOKIE_NAME AUTH_SECURE_ENABLED LISTEN_QUEUE_NAME
    ROUTER_DOMAIN TCP_ROUTER_ADDRESS TCP_PORT_START TCP_PORT_END`.split(/\s+/),
  clearml:
    `ROUTER__WEBSERVER__AUTO_RELOAD_CONFIG ROUTER_NAME LISTEN_QUEUE_NAME ROUTER__WEBSERVER__SERVER_PORT
    ROUTER_URL CLEARML_API_HOST CLEARML_API_ACCESS_KEY CLEARML_API_SECRET_KEY AUTH_COOKIE_NAME
    ROUTER__HTTP__AUTHORIZATION__COOKIE__SECURE ROUTER__STREAM__EXTERNAL_URL
    ROUTER__STREAM__PORT_RANGE__START ROUTER__STREAM__PORT_RANGE__END`.split(/\s+/),
};

const str = (v: pulumi.Input<string | number | boolean>): pulumi.Output<string> =>
  pulumi.output(v).apply(String);

/** A variable read from the credentials Secret: the keys never appear in the pod spec. */
const fromSecret = (name: string, secretName: pulumi.Input<string>, key: string): EnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: secretName, key } },
});

const queues = (q: pulumi.Input<pulumi.Input<string>[]>): EnvVar => ({
  name: "LISTEN_QUEUE_NAME",
  value: pulumi.output(q).apply((names) => names.join(" ")),
});

/** Our router's env contract (gateway/router/config.ts). */
export function referenceEnv(
  s: RouterDeploymentSettings,
  secretName: pulumi.Input<string>,
): EnvVar[] {
  const env: EnvVar[] = [
    { name: "ROUTER_NAME", value: s.routerName },
    { name: "ROUTER_URL", value: s.externalUrl },
    // The router listens on loopback unless told otherwise; in a pod the Service, the probes
    // and the ingress controller reach it on the pod's address.
    { name: "ROUTER_HOST", value: "0.0.0.0" },
    { name: "ROUTER__WEBSERVER__SERVER_PORT", value: str(s.port) },
    { name: "CLEARML_API_HOST", value: s.apiHost },
    fromSecret("CLEARML_API_ACCESS_KEY", secretName, CREDENTIALS_KEYS.accessKey),
    fromSecret("CLEARML_API_SECRET_KEY", secretName, CREDENTIALS_KEYS.secretKey),
    { name: "AUTH_COOKIE_NAME", value: s.authCookieName },
    { name: "AUTH_SECURE_ENABLED", value: str(s.authSecureEnabled) },
  ];
  if (s.listenQueues !== undefined) env.push(queues(s.listenQueues));
  if (s.domain !== undefined) env.push({ name: "ROUTER_DOMAIN", value: s.domain });
  if (s.tcp) {
    env.push(
      { name: "TCP_ROUTER_ADDRESS", value: s.tcp.address },
      { name: "TCP_PORT_START", value: str(s.tcp.portStart) },
      { name: "TCP_PORT_END", value: str(s.tcp.portEnd) },
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
export function clearmlRouterEnv(
  s: RouterDeploymentSettings,
  secretName: pulumi.Input<string>,
): EnvVar[] {
  const env: EnvVar[] = [
    // The router rewrites the proxy's configuration; this makes the proxy pick it up.
    { name: "ROUTER__WEBSERVER__AUTO_RELOAD_CONFIG", value: "true" },
    { name: "ROUTER_NAME", value: s.routerName },
  ];
  if (s.listenQueues !== undefined) env.push(queues(s.listenQueues));
  env.push(
    { name: "ROUTER__WEBSERVER__SERVER_PORT", value: str(s.port) },
    { name: "ROUTER_URL", value: s.externalUrl },
    { name: "CLEARML_API_HOST", value: s.apiHost },
    fromSecret("CLEARML_API_ACCESS_KEY", secretName, CREDENTIALS_KEYS.accessKey),
    fromSecret("CLEARML_API_SECRET_KEY", secretName, CREDENTIALS_KEYS.secretKey),
    { name: "AUTH_COOKIE_NAME", value: s.authCookieName },
    { name: "ROUTER__HTTP__AUTHORIZATION__COOKIE__SECURE", value: str(s.authSecureEnabled) },
  );
  if (s.tcp) {
    env.push(
      { name: "ROUTER__STREAM__EXTERNAL_URL", value: s.tcp.address },
      { name: "ROUTER__STREAM__PORT_RANGE__START", value: str(s.tcp.portStart) },
      { name: "ROUTER__STREAM__PORT_RANGE__END", value: str(s.tcp.portEnd) },
    );
  }
  return env;
}
