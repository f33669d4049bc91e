import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { buildAppConfig } from '../../src/config/app-config.js';
import { loadEnv } from '../../src/config/env.js';
import { RunningSwitchboard, startSwitchboard } from '../../src/main.js';
import { DbService } from '../../src/db/db.service.js';
import { pushQueueName, QueueName } from '../../src/pipeline/queue-names.js';
import { DownstreamApp } from '../downstream/downstream-app.js';
import { FaultProxy, startFaultProxy } from '../downstream/fault-proxy.js';
import { AuthGate, headerEquals, startAuthGate } from '../downstream/oauth-server.js';
import { startScimmyApp } from '../downstream/scimmy-app.js';
import { JobQueueService } from '../../src/pipeline/job-queue.service.js';
import { startStrictApp } from '../downstream/strict-app.js';
import { postgresDatabase, TestDatabase } from '../utils/databases.js';
import { CLIENT_TOKEN, Harness, TARGET_TOKEN, waitFor } from '../utils/harness.js';
import { deletePrefix, SHARED_REDIS_URL } from '../utils/redis.js';
import { startSwitchboardProcess, SwitchboardProcess } from '../utils/switchboard-process.js';

/**
 * Per-target rate budget across processes (issue 4, "Target profiles and auth"): an api process (this
 * jest process) and two worker processes (real child processes, run from the TS sources) share only
 * PostgreSQL and Redis. 200 users go to a strict app behind a gate that records every request's arrival
 * and the requests in flight. The target allows 20 requests per second and 3 pushes in flight.
 */

const USERS = 200;
const MAX = 20;
const PER_MS = 1000;
const CONCURRENCY = 3;

/** Most timestamps inside any window of `windowMs` (sorted input). */
export function maxInWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

const pg = process.env.SB_TEST_POSTGRES === '0' ? describe.skip : describe;

pg('rate budget across two worker processes', () => {
  const prefix = `sbtest-${randomBytes(4).toString('hex')}`;
  let db: TestDatabase;
  let app: DownstreamApp;
  let gate: AuthGate;
  let api: RunningSwitchboard;
  const workers: SwitchboardProcess[] = [];
  // Connections a test opens, closed here too, so a failed assertion never leaves jest hanging.
  const closers: Array<() => unknown> = [];

  beforeAll(async () => {
    db = await postgresDatabase();
    app = await startStrictApp({ token: TARGET_TOKEN });
    gate = await startAuthGate({ upstream: app.url, upstreamToken: TARGET_TOKEN, check: headerEquals('authorization', `Bearer ${TARGET_TOKEN}`) });
    const doc = {
      clients: [{ id: 'idp', tokenEnv: 'SB_TEST_CLIENT_TOKEN', scopes: ['scim:read', 'scim:write'] }],
      targets: [{
        id: 'budgeted', baseUrl: gate.url, resourceTypes: ['User'], deprovision: 'disable',
        auth: { type: 'bearer', tokenEnv: 'SB_TEST_TARGET_TOKEN' },
        concurrency: 8, rateLimit: { max: MAX, perMs: PER_MS, concurrency: CONCURRENCY },
        retry: { attempts: 5, backoffMs: 200, maxBackoffMs: 2000 },
      }],
      pipeline: { relayIntervalMs: 50, sweepIntervalMs: 3_600_000 },
    };
    const env = { DATABASE_URL: db.url, REDIS_URL: SHARED_REDIS_URL, QUEUE_PREFIX: prefix };
    process.env.SB_TEST_CLIENT_TOKEN = CLIENT_TOKEN;
    // The api runs the migrations before any worker starts.
    api = await startSwitchboard({
      role: 'api', port: 0, host: '127.0.0.1',
      config: buildAppConfig(doc, loadEnv({ ...env, LOG_LEVEL: 'silent', PORT: '0' })),
    });
    const secrets = { SB_TEST_CLIENT_TOKEN: CLIENT_TOKEN, SB_TEST_TARGET_TOKEN: TARGET_TOKEN };
    workers.push(...await Promise.all([1, 2].map(() => startSwitchboardProcess('worker', doc, { ...env, ...secrets }))));
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled(closers.map(async c => c()));
    await Promise.allSettled(workers.map(w => w.stop()));
    await api?.close();
    await gate?.close();
    await app?.close();
    await deletePrefix(SHARED_REDIS_URL, prefix).catch(() => undefined);
    await db?.drop();
  }, 60_000);

  it(`should push ${USERS} users without exceeding ${MAX} requests per second or ${CONCURRENCY} in flight at the target`, async () => {
    const redis = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
    const q = new Queue(pushQueueName('budgeted'), { connection: redis, prefix });
    closers.push(() => q.close(), () => redis.disconnect());
    // The backlog builds up first (queue paused), so the workers then push against a full budget, and this
    // jest process (which also runs the api) only serves the gate while the target's arrivals are counted.
    await q.pause();
    const names = Array.from({ length: USERS }, (_, i) => `rb-${String(i).padStart(3, '0')}@example.com`);
    for (let i = 0; i < names.length; i += 10) {
      await Promise.all(names.slice(i, i + 10).map(async userName => {
        const res = await request(`${api.url}/scim/v2/Users`, {
          method: 'POST',
          headers: { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/scim+json' },
          body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, active: true, name: { givenName: 'R', familyName: 'B' } }),
        });
        await res.body.text();
        expect(res.statusCode).toBe(201);
      }));
    }
    await waitFor(async () => (await q.getWaitingCount()) + (await q.getPrioritizedCount()) >= USERS, 60_000, `${USERS} push jobs`);
    // Every grant is a ZSET member scored with Redis' clock for one window: polling faster than the window
    // collects them all, so the budget itself can be checked, not only the arrivals it causes.
    const grants = new Map<string, number>();
    const poll = setInterval(() => void (redis.call('ZRANGE', `${prefix}:rate:budgeted`, '0', '-1', 'WITHSCORES') as Promise<Array<[string, string]>>).then(pairs => {
      for (const [member, score] of pairs) grants.set(member, Number(score));
    }), 100);
    const started = Date.now();
    await q.resume();
    await waitFor(() => app.users().length >= USERS, 120_000, `${USERS} users at the target`).finally(() => clearInterval(poll));
    const elapsedMs = Date.now() - started;

    expect(app.users().map(u => u.userName).sort()).toEqual(names);
    const arrivals = gate.requests.map(r => r.startedAt).sort((a, b) => a - b);
    const maxPerSecond = maxInWindow(arrivals, PER_MS);
    const maxInFlight = gate.maxInFlight();
    const grantTimes = [...grants.values()].sort((x, y) => x - y);
    const maxGrantsPerSecond = maxInWindow(grantTimes, PER_MS);
    // A poll delayed past the window on a loaded box can miss a grant (the ZSET drops it); a few missed
    // only lower the observed max, and the arrival-side bound below still holds the rest.
    expect(grantTimes.length).toBeGreaterThanOrEqual(arrivals.length - 5);
    expect(grantTimes.length).toBeLessThanOrEqual(arrivals.length);
    expect(maxGrantsPerSecond).toBeLessThanOrEqual(MAX);
    // Arrival stamps at the target lag the grants by loopback latency and by scheduling of three busy
    // processes on two cores (a delayed request lands beside the next ones): 25 % slack here; the
    // exact check is the one on grants above.
    expect(maxPerSecond).toBeLessThanOrEqual(Math.ceil(MAX * 1.25));
    // The budget was the bottleneck, not idle: the target saw close to the full rate, and 400 requests
    // at 20 per second take at least 19 s.
    expect(maxPerSecond).toBeGreaterThanOrEqual(MAX - 2);
    expect(arrivals[arrivals.length - 1] - arrivals[0]).toBeGreaterThanOrEqual(((arrivals.length - MAX) / MAX) * PER_MS - 500);
    expect(maxInFlight).toBeLessThanOrEqual(CONCURRENCY);
    expect(gate.requests.every(r => r.status < 400)).toBe(true);

    // Both worker processes pushed (BullMQ records the worker name, host:pid, as processedBy).
    const done = await q.getJobs(['completed'], 0, -1);
    await q.close();
    redis.disconnect();
    const byProcess = new Map<string, number>();
    for (const j of done) byProcess.set(String(j.processedBy), (byProcess.get(String(j.processedBy)) ?? 0) + 1);
    expect(byProcess.size).toBe(2);

    const spanMs = Math.round(arrivals[arrivals.length - 1] - arrivals[0]);
    // eslint-disable-next-line no-console
    console.log(`rate budget: ${USERS} users, ${arrivals.length} requests over ${spanMs} ms (${(arrivals.length / spanMs * 1000).toFixed(1)}/s); max ${maxPerSecond} requests at the target in any ${PER_MS} ms window, max ${maxGrantsPerSecond} grants in Redis (budget ${MAX}); max ${maxInFlight} in flight (cap ${CONCURRENCY}); pushes per process ${JSON.stringify([...byProcess.values()])}; all done ${elapsedMs} ms after resume`);
  }, 240_000);
});

describe('429 with Retry-After as an HTTP-date (RFC 9110 §10.2.3)', () => {
  let app: DownstreamApp;
  let proxy: FaultProxy;
  let h: Harness;

  beforeAll(async () => {
    app = await startScimmyApp({ token: TARGET_TOKEN });
    proxy = await startFaultProxy({ upstream: app.url });
    h = await Harness.start({
      targets: [{ id: 'dated', baseUrl: proxy.url, resourceTypes: ['User'], retry: { attempts: 2, backoffMs: 100, maxBackoffMs: 500 } }],
    });
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.close();
    await app?.close();
  });

  it('should hold the target\'s queue until the date, without spending an attempt', async () => {
    // An HTTP-date has whole seconds: 3 s ahead means at least 2 s from now.
    const until = new Date(Date.now() + 3000);
    const rule = proxy.addRule({ match: { method: 'POST' }, status: 429, headers: { 'retry-after': until.toUTCString() }, times: 1 });
    const r = await h.scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'dated@example.com' });
    expect(r.status).toBe(201);
    await waitFor(() => app.users().length === 1, 20_000, 'the user after Retry-After');

    expect(rule.hits).toBe(1);
    const throttled = proxy.requests.find(x => x.status === 429)!;
    const next = proxy.requests.find(x => x.startedAt > throttled.endedAt)!;
    // The date the header carried (whole seconds): nothing went to the target before it.
    const notBefore = Math.floor(until.getTime() / 1000) * 1000;
    expect(next.startedAt).toBeGreaterThanOrEqual(notBefore - 50);
    const completed = async () => (await h.get(JobQueueService).pushQueue('dated').getJobs(['completed'])).filter(j => j.data.resourceId === r.body.id);
    await waitFor(async () => (await completed()).length > 0, 10_000, 'the push job to complete');
    const [job] = await completed();
    expect(job.attemptsMade).toBe(1);
    expect(job.attemptsStarted).toBeGreaterThanOrEqual(2);
  });
});

describe('a rate budget spent for longer than a request may wait', () => {
  let app: DownstreamApp;
  let proxy: FaultProxy;
  let h: Harness;
  const USERS_SLOW = 10;

  beforeAll(async () => {
    app = await startScimmyApp({ token: TARGET_TOKEN });
    proxy = await startFaultProxy({ upstream: app.url });
    // 5 requests per 3 s: a request waits at most 2 s for budget, so pushes go back to the queue.
    h = await Harness.start({
      targets: [{ id: 'slow-budget', baseUrl: proxy.url, resourceTypes: ['User'], concurrency: 4, rateLimit: { max: 5, perMs: 3000 }, retry: { attempts: 2, backoffMs: 100, maxBackoffMs: 500 } }],
    });
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.close();
    await app?.close();
  });

  it('should requeue the pushes without spending attempts or failing any, and keep to the budget', async () => {
    const ids: string[] = [];
    for (let i = 0; i < USERS_SLOW; i++) {
      const r = await h.scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `slow-${i}@example.com` });
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
    await waitFor(() => app.users().length === USERS_SLOW, 60_000, `${USERS_SLOW} users under a 5 per 3 s budget`);
    await h.drain(20_000);

    // 2 requests per user at 5 per 3 s: the 16th to 20th request wait for the fourth window, 9 s
    // after the first grant. (Arrival times in this busy single process lag the grants by up to ~0.5 s,
    // too much for a per-window count; the two-process test above counts windows.)
    const arrivals = proxy.requests.map(r => r.startedAt).sort((a, b) => a - b);
    // A push that goes back to the queue starts over (level-triggered), so a lookup may be repeated; the
    // write is not.
    expect(arrivals.length).toBeGreaterThanOrEqual(2 * USERS_SLOW);
    expect(proxy.requests.filter(r => r.method === 'POST')).toHaveLength(USERS_SLOW);
    expect(arrivals[arrivals.length - 1] - arrivals[0]).toBeGreaterThanOrEqual(8000);
    const jobs = (await h.get(JobQueueService).pushQueue('slow-budget').getJobs(['completed', 'failed'])).filter(j => ids.includes(j.data.resourceId));
    expect(jobs.every(j => j.finishedOn && !j.failedReason && j.attemptsMade === 1)).toBe(true);
    // Some pushes went back to the queue at least once (the RateBudgetExhaustedError path).
    expect(Math.max(...jobs.map(j => j.attemptsStarted))).toBeGreaterThan(1);
    const [{ n }] = await h.get(DbService).manager.query("SELECT COUNT(*) AS n FROM push_log WHERE target_id = 'slow-budget' AND NOT ok");
    expect(Number(n)).toBe(0);
    expect(await h.get(JobQueueService).queue(QueueName.DeadLetter).getJobCounts('waiting')).toEqual({ waiting: 0 });
  });
});
