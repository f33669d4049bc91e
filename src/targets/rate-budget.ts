import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { TargetConfig } from '../config/app-config.js';

/** A request that would wait longer than this for budget gives its push back to the queue instead. */
export const RATE_BUDGET_MAX_WAIT_MS = 2000;

/**
 * Sliding-window log, run by rate-limiter-flexible in place of its fixed-window counter (same
 * KEYS/ARGV/return contract: ARGV[1] points to take, ARGV[3] the budget, ARGV[4] the window in seconds;
 * returns {consumed, msBeforeNext}). A fixed window lets 2 × max through around a window edge; here
 * every granted request is a ZSET member scored with Redis' own clock (one clock for every process),
 * so no window of `perMs` anywhere holds more than `max` of them. A refused request records nothing.
 */
const SLIDING_WINDOW_LUA = `
local key = KEYS[1]
local cost = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
local window = math.floor(tonumber(ARGV[4]) * 1000)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local used = redis.call('ZCARD', key)
if used + cost > limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  local wait = window
  if oldest[2] then wait = tonumber(oldest[2]) + window - now + 1 end
  if wait < 1 then wait = 1 end
  return {limit + cost, wait}
end
for i = 1, cost do
  redis.call('ZADD', key, now, now .. '-' .. (used + i))
end
redis.call('PEXPIRE', key, window)
return {used + cost, window}
`;

/**
 * The target's request budget is spent for longer than {@link RATE_BUDGET_MAX_WAIT_MS}. Not a failure:
 * the worker turns it into `queue.rateLimit(retryAfterMs)` + `RateLimitError`, so the push goes back
 * to the queue without spending an attempt, and nothing is logged against the resource.
 */
export class RateBudgetExhaustedError extends Error {
  constructor(readonly targetId: string, readonly retryAfterMs: number) {
    super(`rate budget of target ${targetId} spent; next request in ${retryAfterMs} ms`);
    this.name = 'RateBudgetExhaustedError';
  }
}

/** Takes one unit of a target's request budget before each HTTP request. */
export interface RequestBudget {
  /**
   * Resolves when one more request may be sent now. Waits up to {@link RATE_BUDGET_MAX_WAIT_MS} for
   * budget; beyond that throws RateBudgetExhaustedError. Redis errors are thrown as they are.
   */
  acquire(signal?: AbortSignal): Promise<void>;
}

/**
 * Per-target rate budget (`targets[].rateLimit: { max, perMs }`): at most `max` HTTP requests in any
 * `perMs` window, counted per request across every process that shares Redis. Keys live under
 * `<QUEUE_PREFIX>:rate:<targetId>`. Built on rate-limiter-flexible's RateLimiterRedis (ioredis).
 */
export class RateBudget implements RequestBudget {
  private readonly limiter: RateLimiterRedis;

  constructor(
    private readonly targetId: string,
    limit: { max: number; perMs: number },
    redis: Redis,
    queuePrefix: string,
    private readonly maxWaitMs = RATE_BUDGET_MAX_WAIT_MS,
  ) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${queuePrefix}:rate`,
      points: limit.max,
      duration: limit.perMs / 1000,
      customIncrTtlLuaScript: SLIDING_WINDOW_LUA,
    });
  }

  /** A budget for `target`, or undefined when its config sets no `rateLimit.max`. */
  static forTarget(target: TargetConfig, redis: Redis, queuePrefix: string): RateBudget | undefined {
    const r = target.rateLimit;
    return r?.max ? new RateBudget(target.id, { max: r.max, perMs: r.perMs }, redis, queuePrefix) : undefined;
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.maxWaitMs;
    for (;;) {
      try {
        await this.limiter.consume(this.targetId, 1);
        return;
      } catch (r) {
        if (!(r instanceof RateLimiterRes)) throw r;
        const wait = Math.max(1, r.msBeforeNext);
        if (Date.now() + wait > deadline) throw new RateBudgetExhaustedError(this.targetId, wait);
        // Jitter spreads the waiters that all wake when one slot frees up.
        await sleep(wait + Math.floor(Math.random() * 15), undefined, { signal });
      }
    }
  }
}
