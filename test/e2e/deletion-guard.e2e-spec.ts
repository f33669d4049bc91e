import { request } from 'undici';
import { startStrictApp } from '../downstream/strict-app.js';
import { DownstreamApp } from '../downstream/downstream-app.js';
import { DbService } from '../../src/db/db.service.js';
import { JobQueueService } from '../../src/pipeline/job-queue.service.js';
import { QueueName } from '../../src/pipeline/queue-names.js';
import { DeletionGuardError, DeletionGuardService } from '../../src/targets/deletion-guard.service.js';
import { storeKinds } from '../utils/databases.js';
import { Harness, TARGET_TOKEN, TargetDoc, waitFor } from '../utils/harness.js';

/**
 * Mass-deletion guard end to end against the strict downstream app: 60 users deactivated at a target
 * whose guard allows 50 deprovisions per hour → quarantined after exactly 50, nothing more disabled,
 * state survives a restart; approve lets the held 10 proceed, reject leaves them as recorded skips.
 */
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const N = 60;
/** 120 SCIM writes and 110 pushes per test: generous on a loaded 2-core box. */
const SLOW = 150_000;

describe.each(storeKinds())('deletion guard (%s)', db => {
  let strict: DownstreamApp;
  let h: Harness;
  const targets = (): TargetDoc[] => [{ id: 'strict', baseUrl: strict.url, resourceTypes: ['User'], deprovision: 'disable' }];
  const guard = () => h.get(DeletionGuardService);
  const disabled = () => strict.users().filter(u => u.active === false).length;
  const queueCounts = () => h.get(JobQueueService).pushQueue('strict').getJobCounts('waiting', 'prioritized', 'delayed', 'active');
  const metrics = async () => (await (await request(`${h.sb.url}/metrics`)).body.text());

  /** `n` users provisioned, the first `deactivate` of them deactivated; waits until the target is quarantined with `held` pushes waiting. */
  async function massDeactivation(n = N, deactivate = N, held = N - 50): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await h.scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `m${i}@example.com`, active: true });
      ids.push(r.body.id);
    }
    await h.drain();
    expect(strict.users()).toHaveLength(n);
    for (const id of ids.slice(0, deactivate)) {
      expect((await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] })).status).toBe(200);
    }
    // Settled: every event fanned out, nothing running, the rest waiting behind the paused queue.
    await waitFor(async () => {
      const changes = await h.get(JobQueueService).queue(QueueName.Changes).getJobCounts('waiting', 'active', 'prioritized', 'delayed');
      const c = await queueCounts();
      return (await guard().status('strict')).quarantined && Object.values(changes).every(v => v === 0) && c.active === 0
        && c.waiting + c.prioritized + c.delayed === held;
    }, 60_000, 'quarantine to settle');
    return ids;
  }

  beforeEach(async () => {
    strict = await startStrictApp({ token: TARGET_TOKEN });
    h = await Harness.start({ db, targets: targets() });
  });

  afterEach(async () => {
    await h?.close();
    await strict?.close();
  });

  it('should quarantine after 50 deprovisions, hold the rest across a restart, and let them proceed on approve', async () => {
    await massDeactivation();
    expect(disabled()).toBe(50);
    const status = await guard().status('strict');
    expect(status).toMatchObject({ quarantined: true, windowCount: 50, limits: { maxDeprovisions: 50, maxPercent: 10, windowMinutes: 60, enabled: true } });
    expect(status.reason).toContain('more than 50 deprovisions within 60 min');
    expect(await h.get(JobQueueService).pushQueue('strict').isPaused()).toBe(true);
    expect(await metrics()).toMatch(/switchboard_target_quarantined\{target="strict"\} 1\n/);
    expect(await metrics()).toMatch(/switchboard_target_quarantines_total\{target="strict"\} 1\n/);

    // A redeploy keeps the quarantine (SQL + Redis) and the queue paused; still nothing more is disabled.
    await h.restart(targets());
    expect((await guard().status('strict')).quarantined).toBe(true);
    expect(await h.get(JobQueueService).pushQueue('strict').isPaused()).toBe(true);
    const [row] = await h.get(DbService).manager.query(`SELECT quarantined_at FROM target_state WHERE target_id = 'strict'`);
    expect(row.quarantined_at).toMatch(/^\d{4}-/);
    expect(disabled()).toBe(50);

    const after = await guard().approve('strict', 'alice');
    expect(after.quarantined).toBe(false);
    await h.drain();
    expect(disabled()).toBe(N);
    expect((await guard().status('strict')).quarantined).toBe(false);
    expect(await metrics()).toMatch(/switchboard_target_quarantined\{target="strict"\} 0\n/);
    await expect(guard().approve('strict', 'alice')).rejects.toBeInstanceOf(DeletionGuardError);
  }, SLOW);

  it('should drop the held deprovisions as recorded skips on reject, keep the links, and not retry them in a sweep', async () => {
    const ids = await massDeactivation();
    expect(disabled()).toBe(50);
    await guard().reject('strict', 'bob');
    await h.drain();
    expect(disabled()).toBe(50);
    expect(strict.users().filter(u => u.active !== false)).toHaveLength(N - 50);

    const db = h.get(DbService);
    const rejected: Array<{ resource_id: string }> = await db.manager.query(`SELECT resource_id FROM push_log WHERE target_id = 'strict' AND action = 'skip' AND error LIKE '%rejected by an operator%'`);
    expect(new Set(rejected.map(r => r.resource_id)).size).toBe(N - 50);
    const links: Array<{ status: string; remote_active: unknown }> = await db.manager.query(
      `SELECT status, remote_active FROM target_link WHERE target_id = 'strict' AND resource_id IN (${rejected.map(r => `'${r.resource_id}'`).join(',')})`,
    );
    expect(links.every(l => l.status === 'synced' && Boolean(l.remote_active))).toBe(true);
    expect(ids).toEqual(expect.arrayContaining(rejected.map(r => r.resource_id)));

    // The sweep does not bring the rejected deprovisions back.
    await h.sweep();
    await h.drain();
    expect(disabled()).toBe(50);
    expect((await guard().status('strict')).quarantined).toBe(false);
  }, SLOW);

  it('should quarantine on the percentage of linked accounts once the target has enough of them', async () => {
    await h.restart([{ ...targets()[0], deletionGuard: { maxDeprovisions: 1000, maxPercent: 10, minLinkedForPercent: 20 } }]);
    // 25 linked: 10 % allows 2 deprovisions; the 3rd of 6 quarantines the target, 4 are held.
    await massDeactivation(25, 6, 4);
    expect(disabled()).toBe(2);
    const status = await guard().status('strict');
    expect(status).toMatchObject({ quarantined: true, windowCount: 2, limits: { maxDeprovisions: 1000, maxPercent: 10, minLinkedForPercent: 20 } });
    expect(status.reason).toContain('10 % of 25 linked');
    await guard().approve('strict', 'carol');
    await h.drain();
    expect(disabled()).toBe(6);
  }, SLOW);
});
