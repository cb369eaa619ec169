// Failed logins, counted the same way at both doors: the control API's `auth.login` and the
// router's login page (which calls `auth.login` for the browser, so only the page sees the
// browser's own address). Counters live in memory (rate-limiter-flexible): a restart forgets them.
//
// Two counts, after rate-limiter-flexible's brute-force recipe:
// - per access key and address: guessing one key's secret. Not per key alone: an access key is
//   no secret (it sits in configs and logs), and a per-key lockout would let anyone who has seen
//   one keep its owner out for good with a handful of requests per window. Here a guesser locks
//   out only their own address; a generated secret (288 random bits) is out of reach of any
//   number of addresses at this rate.
// - per address, any key: one address trying many keys.
// A login that succeeds counts for neither, and clears its key's count from that address.
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

export interface LoginLimits {
  /** `APPGW_LOGIN_FAILURES_PER_KEY`: failed logins of one access key from one address. */
  perKey: number;
  /** `APPGW_LOGIN_FAILURES_PER_ADDRESS`: failed logins from one address, whatever the key. */
  perAddress: number;
  /** `APPGW_LOGIN_WINDOW_SEC`: the window the counts cover, from its first attempt. */
  windowSec: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  // A person mistyping a secret a few times, or a script retrying a rotated one, stays clear.
  perKey: 10,
  // Five people behind one NAT each mistyping their own key ten times.
  perAddress: 50,
  // Long enough that guessing gains nothing, short enough that a mistyping person waits it out.
  windowSec: 15 * 60,
};

export class LoginGuard {
  private readonly byKey: RateLimiterMemory;
  private readonly byAddress: RateLimiterMemory;

  /** Each limit not given keeps its default. */
  constructor(limits: Partial<LoginLimits> = {}) {
    const duration = limits.windowSec ?? DEFAULT_LOGIN_LIMITS.windowSec;
    this.byKey = new RateLimiterMemory({
      points: limits.perKey ?? DEFAULT_LOGIN_LIMITS.perKey,
      duration,
    });
    this.byAddress = new RateLimiterMemory({
      points: limits.perAddress ?? DEFAULT_LOGIN_LIMITS.perAddress,
      duration,
    });
  }

  /**
   * Counts a login attempt before its secret is checked, so concurrent guesses cannot all slip
   * in before the first failure is counted. Returns 0, or the seconds until the attempt may be
   * made again when a limit is reached (the attempt must then not be made).
   */
  async attempt(accessKey: string, address: string): Promise<number> {
    // The address first: an address over its limit creates no per-key records, so sending
    // random keys costs the gateway one record per address, not one per key.
    return (
      (await waitSec(this.byAddress, address)) ||
      waitSec(this.byKey, pairKey(accessKey.slice(0, MAX_KEY_LENGTH), address))
    );
  }

  /** The attempt succeeded: it does not count, and the key's failures from `address` are gone. */
  async succeeded(accessKey: string, address: string): Promise<void> {
    await Promise.all([
      this.byKey.delete(pairKey(accessKey.slice(0, MAX_KEY_LENGTH), address)),
      this.byAddress.reward(address, 1),
    ]);
  }
}

/** Longer than any access key; what a client sends beyond it is not kept. */
const MAX_KEY_LENGTH = 128;

const pairKey = (accessKey: string, address: string): string => `${address}\n${accessKey}`;

/** 0 when a point was left in `key`'s count, else the seconds until one is (at least 1). */
async function waitSec(limiter: RateLimiterMemory, key: string): Promise<number> {
  try {
    await limiter.consume(key);
    return 0;
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    return Math.max(1, Math.ceil(err.msBeforeNext / 1000));
  }
}
