import { DbService } from '../../src/db/db.service.js';
import { deliver, FakeHrApi, hireBody, person, setSecretEnv, sourceDocs } from '../fixtures/hr/hr-test-kit.js';
import { PrivateRedis } from '../utils/redis.js';
import { Harness, waitFor } from '../utils/harness.js';

describe('HR webhooks while Redis is down (private redis-server)', () => {
  let redis: PrivateRedis;
  let h: Harness;
  let api: FakeHrApi;

  beforeAll(async () => {
    setSecretEnv();
    redis = new PrivateRedis();
    await redis.start();
    api = new FakeHrApi();
    await api.start();
    h = await Harness.start({ redisUrl: redis.url, extraConfig: { hrSources: sourceDocs(api.url).filter(s => s.id === 'people'), hr: { sweepIntervalMs: 500, staleAfterMs: 2000 } } });
  });

  afterAll(async () => {
    if (!redis.running) await redis.start();
    await h?.close();
    await api?.close();
    await redis?.destroy();
  });

  it('accepts and stores an event while Redis is down, and applies it when Redis returns', async () => {
    await redis.stop();
    const vars = person('outage1');
    const started = Date.now();
    const r = await deliver(h.sb.url, 'people', 'standard-webhooks', hireBody('standard-webhooks', vars));
    expect(r.status).toBe(202);
    // Answered without Redis, well under Personio's 3 s acknowledgement limit.
    expect(Date.now() - started).toBeLessThan(3000);
    const db = h.get(DbService).manager;
    const [outbox] = await db.query('SELECT published_at FROM change_event WHERE resource_id = ?', [r.body.id]);
    expect(outbox.published_at).toBeNull();
    await redis.start();
    await waitFor(async () => {
      const u = await h.scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${vars.email}"`)}`);
      return u.body.totalResults === 1 && u.body.Resources[0].active === true;
    }, 60_000, 'the hire after Redis returned');
    const [ev] = await db.query('SELECT status FROM hr_event WHERE id = ?', [r.body.id]);
    expect(ev.status).toBe('applied');
  });
});
