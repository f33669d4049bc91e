import { DbService } from '../../src/db/db.service.js';
import { JobQueueService } from '../../src/pipeline/job-queue.service.js';
import { QueueName } from '../../src/pipeline/queue-names.js';
import { DownstreamApp } from '../downstream/downstream-app.js';
import { FaultProxy, startFaultProxy } from '../downstream/fault-proxy.js';
import { startScimmyApp } from '../downstream/scimmy-app.js';
import { Harness, sleep, TARGET_TOKEN, TargetDoc, waitFor } from '../utils/harness.js';
import { PrivateRedis } from '../utils/redis.js';

/**
 * Failure scenarios (DESIGN.md, Data flow and principle 3): a target that fails, throttles, rejects one
 * resource, answers slowly or is unreachable; Redis that goes away or loses its data; a target added
 * later. Each describe block runs its own Switchboard (SQLite) in front of a SCIMMY app behind a fault
 * proxy, and checks the final remote state, the proxy's counts and the rows Switchboard kept.
 */

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

const userBody = (name: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER_URN],
  userName: `${name}@example.com`,
  name: { givenName: name, familyName: 'Tester' },
  displayName: `${name} Tester`,
  emails: [{ value: `${name}@example.com`, type: 'work', primary: true }],
  active: true,
  ...extra,
});
const replace = (path: string, value: unknown) => ({ schemas: [PATCH_URN], Operations: [{ op: 'replace', path, value }] });

/** A SCIMMY app behind a fault proxy. */
interface Downstream { app: DownstreamApp; proxy: FaultProxy }

async function startDownstream(): Promise<Downstream> {
  const app = await startScimmyApp({ token: TARGET_TOKEN });
  const proxy = await startFaultProxy({ upstream: app.url });
  return { app, proxy };
}

async function stopDownstream(d?: Downstream): Promise<void> {
  await d?.proxy.close();
  await d?.app.close();
}

/** A target with small backoffs and probe intervals, so the suite stays fast. */
function targetDoc(id: string, d: Downstream, extra: Partial<TargetDoc> = {}): TargetDoc {
  return {
    id, baseUrl: d.proxy.url, deprovision: 'disable', timeoutMs: 5000, concurrency: 4,
    retry: { attempts: 5, backoffMs: 100, maxBackoffMs: 1000 },
    circuit: { failureThreshold: 5, probeIntervalMs: 300 },
    ...extra,
  };
}

async function createUsers(h: Harness, names: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const n of names) {
    const r = await h.scim('POST', '/Users', userBody(n));
    expect(r.status).toBe(201);
    ids.push(r.body.id);
  }
  return ids;
}

const userNames = (app: DownstreamApp) => app.users().map(u => String(u.userName)).sort();
const remoteUser = (app: DownstreamApp, name: string) => app.users().find(u => u.userName === `${name}@example.com`);

function query<T = Record<string, any>>(h: Harness, sql: string, params: unknown[] = []): Promise<T[]> {
  return h.get(DbService).manager.query(sql, params);
}

async function pushLog(h: Harness, resourceId: string) {
  return query<{ action: string; http_status: number | null; ok: number | boolean; error: string | null }>(
    h, 'SELECT action, http_status, ok, error FROM push_log WHERE resource_id = ? ORDER BY id', [resourceId]);
}

async function link(h: Harness, targetId: string, resourceId: string) {
  const [row] = await query<{ status: string; last_error: string | null; remote_id: string | null; pushed_version: number }>(
    h, 'SELECT status, last_error, remote_id, pushed_version FROM target_link WHERE target_id = ? AND resource_id = ?', [targetId, resourceId]);
  return row;
}

const deadLetters = (h: Harness) => h.get(JobQueueService).queue('dlq').getJobs();

/**
 * True when every outbox row is published and the changes queue has fanned them all out: every push
 * they cause is then in its target's queue (or coalesced into the one running, keepLastIfActive).
 */
async function fannedOut(h: Harness): Promise<boolean> {
  const [{ n }] = await query<{ n: number }>(h, 'SELECT COUNT(*) AS n FROM change_event WHERE published_at IS NULL');
  if (Number(n) > 0) return false;
  const counts = await h.get(JobQueueService).queue(QueueName.Changes).getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
  return Object.values(counts).every(v => v === 0);
}

describe('failures: a target that answers 500 twice, then recovers', () => {
  let d: Downstream;
  let h: Harness;
  beforeAll(async () => {
    d = await startDownstream();
    h = await Harness.start({ targets: [targetDoc('flaky', d)] });
  });
  afterAll(async () => {
    await h?.close();
    await stopDownstream(d);
  });

  it('should retry with backoff, converge, and log the failed attempts', async () => {
    const rule = d.proxy.addRule({ match: { method: 'POST', pathIncludes: '/Users' }, status: 500, times: 2 });
    const [id] = await createUsers(h, ['five-hundred']);
    await h.drain();

    expect(rule.hits).toBe(2);
    expect(userNames(d.app)).toEqual(['five-hundred@example.com']);
    const rows = await pushLog(h, id);
    const failed = rows.filter(r => !r.ok);
    expect(failed.map(r => r.http_status)).toEqual([500, 500]);
    expect(failed.every(r => /HTTP 500/.test(r.error ?? ''))).toBe(true);
    expect(rows.filter(r => r.ok).map(r => r.action)).toEqual(['create']);
    expect(await link(h, 'flaky', id)).toMatchObject({ status: 'synced', last_error: null });
    expect(await deadLetters(h)).toHaveLength(0);
    const posts = d.proxy.requests.filter(r => r.method === 'POST');
    expect(posts.map(r => r.status)).toEqual([500, 500, 201]);
    const gaps = posts.slice(1).map((r, i) => Math.round(r.startedAt - posts[i].endedAt));
    console.info(`[500] POST statuses ${posts.map(r => r.status).join(', ')}; backoff gaps (ms): ${gaps.join(', ')}; push_log: ${rows.map(r => `${r.action}/${r.http_status ?? '-'}/${r.ok ? 'ok' : 'fail'}`).join(', ')}`);
  });
});

describe('failures: a target that answers 429 with Retry-After', () => {
  let d: Downstream;
  let h: Harness;
  beforeAll(async () => {
    d = await startDownstream();
    // Two attempts only: three 429s must not spend them.
    h = await Harness.start({ targets: [targetDoc('throttled', d, { retry: { attempts: 2, backoffMs: 100, maxBackoffMs: 1000 } })] });
  });
  afterAll(async () => {
    await h?.close();
    await stopDownstream(d);
  });

  it('should wait for Retry-After without spending attempts, then converge', async () => {
    const rule = d.proxy.addRule({ match: { method: 'POST', pathIncludes: '/Users' }, status: 429, headers: { 'Retry-After': '1' }, times: 3 });
    const [id] = await createUsers(h, ['throttled']);
    await h.drain();

    expect(rule.hits).toBe(3);
    expect(userNames(d.app)).toEqual(['throttled@example.com']);
    const posts = d.proxy.requests.filter(r => r.method === 'POST');
    expect(posts.map(r => r.status)).toEqual([429, 429, 429, 201]);
    const gaps = posts.slice(1).map((r, i) => r.startedAt - posts[i].endedAt);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(950);
    const completed = (await h.get(JobQueueService).pushQueue('throttled').getJobs(['completed'])).filter(j => j.data.resourceId === id);
    expect(completed).toHaveLength(1);
    expect(completed[0].attemptsMade).toBe(1);
    expect(await deadLetters(h)).toHaveLength(0);
    expect(await link(h, 'throttled', id)).toMatchObject({ status: 'synced' });
    console.info(`[429] gaps between POSTs (ms): ${gaps.map(Math.round).join(', ')}; attemptsMade ${completed[0].attemptsMade}, attemptsStarted ${completed[0].attemptsStarted}`);
  });
});

describe('failures: a target that answers 401 for a while', () => {
  let d: Downstream;
  let h: Harness;
  beforeAll(async () => {
    d = await startDownstream();
    h = await Harness.start({ targets: [targetDoc('locked', d)] });
  });
  afterAll(async () => {
    await h?.close();
    await stopDownstream(d);
  });

  it('should open the circuit, park the jobs, and converge once the target accepts again', async () => {
    const rule = d.proxy.addRule({ status: 401 });
    const ids = await createUsers(h, ['locked-a', 'locked-b', 'locked-c']);
    const queue = h.get(JobQueueService).pushQueue('locked');
    // The 401s last until the circuit has opened and two probes have met them (states to wait for, not
    // times to guess): the queue stays paused while the target refuses.
    let sawPaused = false;
    await waitFor(async () => (sawPaused = await queue.isPaused()), 15_000, 'the circuit to pause the queue');
    const atOpen = rule.hits;
    await waitFor(() => rule.hits >= atOpen + 2, 15_000, 'two probes to meet the 401s');
    expect(await queue.isPaused()).toBe(true);
    rule.remove();
    const blocked = rule.hits;
    const cleared = Date.now();
    await waitFor(() => d.app.users().length === 3, 5000, 'users to arrive after the target recovered');
    const recoveryMs = Date.now() - cleared;
    await h.drain();

    expect(sawPaused).toBe(true);
    expect(await queue.isPaused()).toBe(false);
    expect(blocked).toBeGreaterThanOrEqual(3);
    expect(userNames(d.app)).toEqual(['locked-a@example.com', 'locked-b@example.com', 'locked-c@example.com']);
    expect(await deadLetters(h)).toHaveLength(0);
    for (const id of ids) expect(await link(h, 'locked', id)).toMatchObject({ status: 'synced', last_error: null });
    expect((await queue.getJobs(['failed']))).toHaveLength(0);
    console.info(`[401] requests answered 401 while locked: ${blocked}; circuit paused the queue: ${sawPaused}; converged ${recoveryMs} ms after the 401s stopped`);
  });
});

describe('failures: a target that rejects one user with 400', () => {
  let d: Downstream;
  let h: Harness;
  beforeAll(async () => {
    d = await startDownstream();
    h = await Harness.start({ targets: [targetDoc('picky', d)] });
  });
  afterAll(async () => {
    await h?.close();
    await stopDownstream(d);
  });

  it('should dead-letter that user only, then heal by itself after a later change', async () => {
    // The target echoes the offending value in its detail, as real targets do.
    const rule = d.proxy.addRule({
      match: { method: 'POST', bodyIncludes: 'rejected@example.com' }, status: 400,
      body: { schemas: [ERROR_URN], status: '400', scimType: 'invalidValue', detail: 'emails.value "rejected@example.com" is not allowed here' },
    });
    const [good1, bad, good2] = await createUsers(h, ['accepted-1', 'rejected', 'accepted-2']);
    await h.drain();

    expect(rule.hits).toBe(1);
    expect(userNames(d.app)).toEqual(['accepted-1@example.com', 'accepted-2@example.com']);
    expect(await link(h, 'picky', good1)).toMatchObject({ status: 'synced' });
    expect(await link(h, 'picky', good2)).toMatchObject({ status: 'synced' });
    const failedLink = await link(h, 'picky', bad);
    expect(failedLink.status).toBe('failed');
    expect(failedLink.last_error).toMatch(/HTTP 400/);
    expect(failedLink.last_error).toMatch(/invalidValue/);

    const dlq = await deadLetters(h);
    expect(dlq).toHaveLength(1);
    expect(dlq[0].data).toMatchObject({ targetId: 'picky', resourceType: 'User', resourceId: bad, errorClass: 'TargetError.permanent', httpStatus: 400 });
    expect(dlq[0].data.summary).toMatch(/HTTP 400/);
    expect(dlq[0].data.summary).toMatch(/invalidValue/);
    const stored = JSON.stringify(dlq[0].data);
    expect(stored).not.toContain('rejected@example.com');
    expect(stored).not.toContain('rejected');
    expect(stored).not.toContain('Tester');

    // The target is fixed; the next change to that user pushes it and clears the dead letter.
    rule.remove();
    expect((await h.scim('PATCH', `/Users/${bad}`, replace('displayName', 'Fixed Tester'))).status).toBe(200);
    await h.drain();
    await waitFor(async () => (await deadLetters(h)).length === 0, 5000, 'dead letter to clear');
    expect(remoteUser(d.app, 'rejected')).toMatchObject({ displayName: 'Fixed Tester', active: true });
    expect(await link(h, 'picky', bad)).toMatchObject({ status: 'synced', last_error: null });
  });
});

describe('failures: a burst of updates to one user while the target is slow', () => {
  let d: Downstream;
  let h: Harness;
  beforeAll(async () => {
    d = await startDownstream();
    h = await Harness.start({ targets: [targetDoc('slow', d, { concurrency: 8 })] });
  });
  afterAll(async () => {
    await h?.close();
    await stopDownstream(d);
  });

  it('should never push one user twice at once and coalesce the burst into at most two writes', async () => {
    const [id] = await createUsers(h, ['bursty']);
    await h.drain();
    const remoteId = (await link(h, 'slow', id)).remote_id!;
    expect(remoteId).toBeTruthy();
    const key = `/Users/${remoteId}`;

    // The first push of the burst is held at the target until the other 19 updates are accepted and
    // fanned out, so they all arrive while that push is in flight however slow the machine is.
    const gate = d.proxy.addRule({ match: { method: 'PATCH', pathIncludes: key }, gate: true, times: 1 });
    const writesBefore = d.proxy.writeCount();
    const t0 = Date.now();
    expect((await h.scim('PATCH', `/Users/${id}`, replace('displayName', 'Burst 1'))).status).toBe(200);
    await waitFor(() => gate.waiting === 1, 10_000, 'the first push to reach the target');
    for (let i = 2; i <= 20; i++) {
      expect((await h.scim('PATCH', `/Users/${id}`, replace('displayName', `Burst ${i}`))).status).toBe(200);
    }
    const burstMs = Date.now() - t0;
    await waitFor(() => fannedOut(h), 20_000, 'the burst to be published and fanned out');
    expect(gate.waiting).toBe(1);
    gate.release();
    await h.drain();
    const burstWrites = d.proxy.requests.filter(r => r.resourceKey === key && r.startedAt >= t0);

    const writes = d.proxy.writeCount() - writesBefore;
    const maxConcurrent = d.proxy.maxConcurrentByResource().get(key) ?? 0;
    expect(gate.hits).toBe(1);
    expect(maxConcurrent).toBe(1);
    // Two: the held one (Burst 1) and one carrying the latest state (BullMQ keepLastIfActive coalesces
    // the 19 updates that arrived meanwhile); never fewer, since the held push read Burst 1.
    expect(writes).toBe(2);
    expect(d.app.users()).toHaveLength(1);
    expect(remoteUser(d.app, 'bursty')).toMatchObject({ displayName: 'Burst 20' });
    expect(await link(h, 'slow', id)).toMatchObject({ status: 'synced', pushed_version: 21 });
    expect(burstWrites.every(r => r.method === 'PATCH' && r.status === 200)).toBe(true);
    expect(burstWrites[1].startedAt).toBeGreaterThanOrEqual(burstWrites[0].endedAt);
    console.info(`[burst] 20 PATCHes in ${burstMs} ms → ${writes} writes (${burstWrites.map(r => Math.round(r.endedAt - r.startedAt)).join(' + ')} ms), max concurrent per resource ${maxConcurrent}`);
  });
});

describe('failures: a deactivation racing the in-flight create', () => {
  let d: Downstream;
  let h: Harness;
  beforeAll(async () => {
    d = await startDownstream();
    h = await Harness.start({ targets: [targetDoc('racy', d, { deprovision: 'disable' })] });
  });
  afterAll(async () => {
    await h?.close();
    await stopDownstream(d);
  });

  it('should end disabled at the target', async () => {
    // The create is held at the target until the deactivation is accepted and fanned out.
    const heldPost = d.proxy.addRule({ match: { method: 'POST', pathIncludes: '/Users' }, gate: true, times: 1 });
    const [id] = await createUsers(h, ['racer']);
    await waitFor(() => heldPost.waiting === 1, 10_000, 'the create to reach the target');
    expect(d.app.users()).toHaveLength(0); // the POST is still in flight
    expect((await h.scim('PATCH', `/Users/${id}`, replace('active', false))).status).toBe(200);
    await waitFor(() => fannedOut(h), 10_000, 'the deactivation to be published and fanned out');
    expect(d.app.users()).toHaveLength(0);
    heldPost.release();
    await h.drain();

    expect(d.app.users()).toHaveLength(1);
    expect(remoteUser(d.app, 'racer')).toMatchObject({ active: false });
    expect(d.proxy.writeCount(r => r.method === 'POST')).toBe(1);
    expect(d.proxy.maxConcurrentByResource().get('racer@example.com')).toBe(1);
    const l = await link(h, 'racy', id);
    expect(l).toMatchObject({ status: 'synced', pushed_version: 2 });
    const writes = d.proxy.requests.filter(r => ['POST', 'PATCH'].includes(r.method));
    expect(writes.map(r => r.method)).toEqual(['POST', 'PATCH']);
    expect(writes[1].startedAt).toBeGreaterThanOrEqual(writes[0].endedAt);
    console.info(`[race] writes at the target: ${writes.map(r => `${r.method} ${r.status} (${Math.round(r.endedAt - r.startedAt)} ms)`).join(' then ')}; remote active=${String(remoteUser(d.app, 'racer')!.active)}`);
  });
});

describe('failures: Redis down while SCIM writes arrive', () => {
  let d: Downstream;
  let h: Harness;
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = new PrivateRedis();
    await redis.start();
    d = await startDownstream();
    h = await Harness.start({ targets: [targetDoc('steady', d)], redisUrl: redis.url });
  });
  afterAll(async () => {
    if (redis && !redis.running) await redis.start(); // so the close below does not wait on a dead Redis
    await h?.close();
    await stopDownstream(d);
    await redis?.destroy();
  });

  it('should accept every write without Redis and deliver all of them once Redis is back', async () => {
    const [before] = await createUsers(h, ['pre-outage']);
    await h.drain();

    await redis.stop();
    const t0 = Date.now();
    const during = await createUsers(h, ['outage-1', 'outage-2', 'outage-3']);
    expect((await h.scim('PATCH', `/Users/${before}`, replace('displayName', 'Changed During Outage'))).status).toBe(200);
    expect((await h.scim('PATCH', `/Users/${before}`, replace('active', false))).status).toBe(200);
    const writeMs = Date.now() - t0;
    const [{ n: unpublished }] = await query<{ n: number }>(h, 'SELECT COUNT(*) AS n FROM change_event WHERE published_at IS NULL');
    expect(Number(unpublished)).toBe(5);
    await sleep(300);

    await redis.start();
    const t1 = Date.now();
    await waitFor(() => d.app.users().length === 4, 20_000, 'users to arrive after Redis returned');
    await h.drain();
    const healMs = Date.now() - t1;

    expect(userNames(d.app)).toEqual(['outage-1@example.com', 'outage-2@example.com', 'outage-3@example.com', 'pre-outage@example.com']);
    expect(remoteUser(d.app, 'pre-outage')).toMatchObject({ displayName: 'Changed During Outage', active: false });
    for (const id of [before, ...during]) expect(await link(h, 'steady', id)).toMatchObject({ status: 'synced' });
    console.info(`[redis down] 5 SCIM writes in ${writeMs} ms without Redis; converged ${healMs} ms after Redis returned`);
  });
});

describe('failures: Redis flushed after the events were published', () => {
  let d: Downstream;
  let h: Harness;
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = new PrivateRedis();
    await redis.start();
    d = await startDownstream();
    // One push at a time, so most pushes are still waiting in Redis when it is flushed.
    h = await Harness.start({ targets: [targetDoc('amnesiac', d, { concurrency: 1 })], redisUrl: redis.url });
    // Let the start-up sweep (1 s after boot) pass, so it cannot be what heals the flush below.
    await sleep(1200);
  });
  afterAll(async () => {
    await h?.close();
    await stopDownstream(d);
    await redis?.destroy();
  });

  it('should heal through the reconcile sweep', async () => {
    // Creates are held at the target until Redis is flushed: the first push stays in flight, the others wait in Redis.
    const held = d.proxy.addRule({ match: { method: 'POST' }, gate: true });
    const names = ['lost-1', 'lost-2', 'lost-3', 'lost-4', 'lost-5'];
    const ids = await createUsers(h, names);
    // Published and fanned out: every user has a pending link, and pushes wait behind the held one.
    await waitFor(async () => {
      const links = await query(h, 'SELECT 1 FROM target_link WHERE target_id = ?', ['amnesiac']);
      return (await fannedOut(h)) && links.length === ids.length && held.waiting === 1;
    }, 10_000, 'events published and fanned out');
    await redis.flushAll();
    held.remove();

    // Nothing left in Redis: only the push that was in flight lands.
    await waitFor(() => d.proxy.writeCount(r => r.method === 'POST') === 1, 10_000, 'the held create to land');
    await sleep(500); // room for a wrongly surviving push to show up
    const beforeSweep = d.app.users().length;
    expect(held.hits).toBe(1);
    expect(beforeSweep).toBe(1);
    expect(await h.idle()).toBe(true);

    const enqueued = await h.sweep();
    expect(enqueued).toBeGreaterThanOrEqual(names.length - beforeSweep);
    await waitFor(() => d.app.users().length === names.length, 10_000, 'every user to arrive');
    await h.drain();
    expect(userNames(d.app)).toEqual(names.map(n => `${n}@example.com`));
    for (const id of ids) expect(await link(h, 'amnesiac', id)).toMatchObject({ status: 'synced' });
    expect(d.proxy.writeCount(r => r.method === 'POST' && r.status === 201)).toBe(names.length);
    console.info(`[redis flushed] ${beforeSweep}/${names.length} users arrived before the sweep; sweep enqueued ${enqueued}`);
  });
});

describe('failures: a target added after users exist', () => {
  let first: Downstream;
  let second: Downstream;
  let h: Harness;
  beforeAll(async () => {
    first = await startDownstream();
    second = await startDownstream();
    h = await Harness.start({ targets: [targetDoc('first', first)] });
  });
  afterAll(async () => {
    await h?.close();
    await stopDownstream(first);
    await stopDownstream(second);
  });

  it('should backfill every existing user to the new target at start', async () => {
    const names = ['early-1', 'early-2', 'early-3', 'early-4'];
    const ids = await createUsers(h, names);
    await h.drain();
    expect((await h.scim('PATCH', `/Users/${ids[3]}`, replace('active', false))).status).toBe(200);
    await h.drain();
    expect(first.app.users()).toHaveLength(4);
    const firstWrites = first.proxy.writeCount();
    expect(firstWrites).toBe(5); // 4 creates + 1 disable

    const t0 = Date.now();
    await h.restart([targetDoc('first', first), targetDoc('second', second)]);
    await waitFor(() => second.app.users().length === names.length, 10_000, 'the backfill to reach the new target');
    await h.drain();
    const backfillMs = Date.now() - t0;

    expect(userNames(second.app)).toEqual(names.map(n => `${n}@example.com`));
    // deprovision: disable → a user inactive before the target existed is provisioned there disabled.
    expect(remoteUser(second.app, 'early-4')).toMatchObject({ active: false });
    for (const n of names.slice(0, 3)) expect(remoteUser(second.app, n)).toMatchObject({ active: true });
    for (const id of ids) expect(await link(h, 'second', id)).toMatchObject({ status: 'synced' });
    expect(second.proxy.writeCount(r => r.method === 'POST' && r.status === 201)).toBe(names.length);
    // The first target saw nothing new.
    expect(first.proxy.writeCount()).toBe(firstWrites);
    console.info(`[new target] ${names.length} existing users backfilled ${backfillMs} ms after the restart`);
  });
});
