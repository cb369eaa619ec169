// Live refresh for the settings page. It waits on the gateway's revision (the same one routers
// follow, through /ui/watch) and swaps in the parts of the page marked `data-live` that changed.
// The page reads and works without this script; it only saves a reload.
"use strict";

(function liveRefresh() {
  const revisionOf = (doc) => doc.body.dataset.revision || "";
  let revision = revisionOf(document);
  // Pages answering a form post have no revision: their address is not one to fetch again.
  if (!revision || !document.querySelector("[data-live]")) return;

  /** At most one refresh this often, however fast the gateway changes. */
  const MIN_INTERVAL_MS = 1_000;
  /** After a failure (signed out, gateway away), look again this much later, doubling to 60 s. */
  let backoffMs = 5_000;

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const running = () => document.querySelector("[data-running]") !== null;
  /** A part the person is working in (an open form, a focused control) is left alone. */
  const busy = (el) =>
    el.querySelector("details[open]") !== null ||
    (document.activeElement !== document.body && el.contains(document.activeElement));

  /** Fetches the page again and swaps in the changed parts; false when that failed. */
  async function refresh() {
    const res = await fetch(location.href, { credentials: "same-origin", redirect: "manual" });
    if (res.status !== 200) return false;
    const fresh = new DOMParser().parseFromString(await res.text(), "text/html");
    for (const part of fresh.querySelectorAll("[data-live][id]")) {
      const current = document.getElementById(part.id);
      if (current && current.outerHTML !== part.outerHTML && !busy(current)) {
        current.replaceWith(document.importNode(part, true));
      }
    }
    return true;
  }

  async function follow() {
    for (;;) {
      const started = Date.now();
      let ok = false;
      try {
        const query = `since=${encodeURIComponent(revision)}${running() ? "&running=1" : ""}`;
        const res = await fetch(`/ui/watch?${query}`, {
          credentials: "same-origin",
          redirect: "manual",
          headers: { accept: "application/json" },
        });
        if (res.status === 200) {
          const latest = String((await res.json()).revision);
          // Taken whether or not the refresh works: a failing page must not be asked again at once.
          const changed = latest !== revision;
          revision = latest;
          ok = changed || running() ? await refresh() : true;
        }
      } catch {
        ok = false;
      }
      if (ok) {
        backoffMs = 5_000;
        await sleep(Math.max(0, MIN_INTERVAL_MS - (Date.now() - started)));
      } else {
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 60_000);
      }
    }
  }

  void follow();
})();
