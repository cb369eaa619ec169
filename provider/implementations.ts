// What the serialized providers load in Pulumi's provider process, by package name
// (`@appgw/pulumi/implementations`), so state written anywhere runs anywhere: see shim.ts.
export { staticRouteImpl } from "./staticRoute";
export { groupImpl } from "./group";
export { groupAccessImpl } from "./groupAccess";
export { routerTestImpl } from "./routerTest";
export { routerRegistrationImpl } from "./routerRegistration";
export { serviceAccountImpl } from "./serviceAccount";
