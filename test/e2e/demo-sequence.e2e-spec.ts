import { runDemo } from '../../scripts/demo/run-demo.js';
import { sqliteDatabase } from '../utils/databases.js';
import { deletePrefix, SHARED_REDIS_URL } from '../utils/redis.js';

describe('the demo provisioning sequence (smaller)', () => {
  it('should converge on all three downstream apps and report per-target numbers', async () => {
    const db = sqliteDatabase();
    const prefix = `sbtest-demo-${process.pid}`;
    try {
      const result = await runDemo({ users: 24, databaseUrl: db.url, redisUrl: SHARED_REDIS_URL, queuePrefix: prefix, timeoutMs: 60_000 });
      expect(result.problems).toEqual([]);
      expect(result.converged).toBe(true);
      const byTarget = Object.fromEntries(result.reports.map(r => [r.target, r]));
      // 24 users: the lenient app disables the deleted one, the other two delete it.
      expect(byTarget['lenient-app'].users).toBe(24);
      expect(byTarget['strict-app'].users).toBe(23);
      expect(byTarget['flaky-app'].users).toBe(23);
      for (const r of result.reports) {
        expect(r.groups).toBe(6);
        expect(r.deadLetters).toBe(0);
        expect(r.pushes).toBeGreaterThanOrEqual(24 + 6);
        expect(r.p99).toBeGreaterThanOrEqual(r.p50);
      }
      // The fault injector's 503s and 429s were retried, not lost.
      expect(byTarget['flaky-app'].retries).toBeGreaterThan(0);
    } finally {
      await deletePrefix(SHARED_REDIS_URL, prefix);
      await db.drop();
    }
  });
});
