// Pulumi dynamic resources for the App Gateway. Type tokens: `pulumi-nodejs:dynamic/appgw:<Name>`.
export * from "./staticRoute";
export * from "./group";
export * from "./groupAccess";
export * from "./routerTest";
export type { ConnectionConfig } from "./shim";
export * from "./routerDeployment";
export * from "./routerRegistration";
export * from "./serviceAccount";
