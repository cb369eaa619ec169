// Waiting and failing in tests, with no gateway attached: any layer may use these.

/** Resolves once `check` returns a value other than undefined/false, or throws after `ms`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  ms = 5000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs `fn` and returns the error it throws; fails if it does not throw. */
export async function rejection(fn: () => Promise<unknown>): Promise<any> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection, got success");
}
