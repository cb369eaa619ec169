// This package's own release. Read by package name so it holds both from source (tsx) and from
// the built dist/, where a relative path to package.json would differ.
export const APPGW_VERSION: string = (require("@appgw/gateway/package.json") as { version: string })
  .version;
