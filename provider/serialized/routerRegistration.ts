// The provider of RouterRegistration: its exports are the methods (see ./forward.ts).
import { forward } from "./forward";

const p = forward("routerRegistrationImpl");
export const { configure, check, diff, create, read, update } = p;
const del = p.delete;
export { del as delete };
