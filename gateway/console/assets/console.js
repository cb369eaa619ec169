// Live refresh for the settings page. It waits on the gateway's revision (the same one routers
// follow, through /ui/watch) and swaps in the parts of the page marked `data-live` that changed.
// The page reads and works without this script; it only saves a reload.
"use strict";

(function liveRefresh() {
  const revisionOf = (doc) => doc.body.dataset.revision || "";
  let revision = revisionOf(document);
  if (!revision || !document.querySelector("[data-live]")) return;

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const running = () => document.querySelector("[data-running]") !== null;
  /** A part the person is working in (an open form, a focused field) is left alone. */
  const busy = (el) =>
    el.querySelector("details[open]") !== null ||
    (el.contains(document.activeElement) && document.activeElement.matches("input, textarea"));

  async function refresh() {
    const res = await fetch(location.href, { credentials: "same-origin", redirect: "manual" });
    if (res.status !== 200) return;
    const fresh = new DOMParser().parseFromString(await res.text(), "text/html");
    revision = revisionOf(fresh) || revision;
    for (const part of fresh.querySelectorAll("[data-live][id]")) {
      const current = document.getElementById(part.id);
      if (current && current.outerHTML !== part.outerHTML && !busy(current)) {
        current.replaceWith(document.importNode(part, true));
      }
    }
  }

  async function follow() {
    for (;;) {
      try {
        const query = `since=${encodeURIComponent(revision)}${running() ? "&running=1" : ""}`;
        const res = await fetch(`/ui/watch?${query}`, {
          credentials: "same-origin",
          redirect: "manual",
          headers: { accept: "application/json" },
        });
        if (res.status !== 200) {
          // Signed out or the gateway is away: look again later, the page itself stays.
          await sleep(10_000);
          continue;
        }
        const { revision: latest } = await res.json();
        if (String(latest) !== revision || running()) await refresh();
      } catch {
        await sleep(5_000);
      }
    }
  }

  void follow();
})();
