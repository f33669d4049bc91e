import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { deletePrefix, SHARED_REDIS_URL } from '../../test/utils/redis.js';
import { RateBudget, RateBudgetExhaustedError } from './rate-budget.js';

/** Most timestamps inside any window of `windowMs` (sorted input). */
function maxInWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe(RateBudget.name, () => {
  const prefix = `sbtest-rb-${randomBytes(4).toString('hex')}`;
  let a: Redis;
  let b: Redis;

  beforeAll(() => {
    a = new Redis(SHARED_REDIS_URL);
    b = new Redis(SHARED_REDIS_URL);
  });
  afterAll(async () => {
    a.disconnect();
    b.disconnect();
    await deletePrefix(SHARED_REDIS_URL, prefix);
  });

  it('should grant max requests at once, then make the next one wait until the oldest leaves the window', async () => {
    const budget = new RateBudget('t-wait', { max: 5, perMs: 1000 }, a, prefix);
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) await budget.acquire();
    expect(Date.now() - t0).toBeLessThan(900);
    await budget.acquire();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    // The key is a ZSET of grants under the prefix; the first five have left the window by now.
    const left = await a.zcard(`${prefix}:rate:t-wait`);
    expect(left).toBeGreaterThanOrEqual(1);
    expect(left).toBeLessThanOrEqual(5);
  });

  it('should give the push back (RateBudgetExhaustedError with the wait) when the wait exceeds the bound', async () => {
    const budget = new RateBudget('t-long', { max: 2, perMs: 5000 }, a, prefix, 500);
    await budget.acquire();
    await budget.acquire();
    const e = await budget.acquire().then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(RateBudgetExhaustedError);
    const { retryAfterMs, targetId } = e as RateBudgetExhaustedError;
    expect(targetId).toBe('t-long');
    expect(retryAfterMs).toBeGreaterThan(4000);
    expect(retryAfterMs).toBeLessThanOrEqual(5001);
    // A refused request takes nothing from the budget.
    expect(await a.zcard(`${prefix}:rate:t-long`)).toBe(2);
  });

  it('should hold max per sliding window for two clients sharing Redis, also across window edges', async () => {
    const max = 10;
    const one = new RateBudget('t-shared', { max, perMs: 1000 }, a, prefix, 10_000);
    const two = new RateBudget('t-shared', { max, perMs: 1000 }, b, prefix, 10_000);
    const granted: number[] = [];
    const worker = async (budget: RateBudget) => {
      for (let i = 0; i < 10; i++) {
        await budget.acquire();
        granted.push(Date.now());
      }
    };
    const t0 = Date.now();
    await Promise.all([worker(one), worker(one), worker(two), worker(two)]);
    granted.sort((x, y) => x - y);
    expect(granted).toHaveLength(40);
    // 40 requests at 10 per second: at least 3 whole windows must pass. A fixed-window counter would let
    // 2 × 10 through around each window edge and finish in about 1.5 s.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2900);
    // Grant times are read in JS after the reply is handled, which on a loaded test box can be tens of
    // ms after Redis granted them: count in a shorter window.
    expect(maxInWindow(granted, 900)).toBeLessThanOrEqual(max);
  });

  it('should abort a wait when the signal fires', async () => {
    const budget = new RateBudget('t-abort', { max: 1, perMs: 1000 }, a, prefix);
    await budget.acquire();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const e = await budget.acquire(ac.signal).then(() => undefined, (x: unknown) => x);
    expect((e as Error).name).toBe('AbortError');
  });
});
