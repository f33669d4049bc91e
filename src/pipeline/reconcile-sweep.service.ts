import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, AppConfig, TargetConfig } from '../config/app-config.js';
import { DbService } from '../db/db.service.js';
import { ResourceTypeName } from '../scim/scim.constants.js';
import { LinkStatus } from '../targets/target-link.entity.js';
import { targetStateHash } from '../targets/target-rules.js';
import { TargetStateService } from '../targets/target-state.service.js';
import { JobQueueService, SWEEP_PRIORITY } from './job-queue.service.js';
import { DeadLetterJobData, PushJobData } from './job.types.js';
import { QueueName } from './queue-names.js';
import { TargetInterest } from './target-interest.service.js';

/** Rows per sweep query page. */
const PAGE = 1000;
/**
 * Timed sweeps leave alone what changed in the last 30 s: the live path (fan-out) is still on it, and a
 * sweep job racing an event job for the same resource would push it twice. An explicit sweep() (operator,
 * tests) looks at everything.
 */
export const SWEEP_GRACE_MS = 30_000;

/**
 * Reconcile sweep (DESIGN.md, Data flow): re-enqueues from SQL — the source of truth — whatever the
 * queues should hold but may not: links whose pushed version is behind the canonical version
 * (tombstones included), and live resources a target wants (TargetInterest: type, scope, group filter)
 * with no link there. Runs at start and periodically, at low priority, so a Redis that lost its data
 * heals by itself. Enqueues go through the one helper, so a push already waiting or running is never
 * doubled.
 *
 * Backfill: a target whose rules hash (mappings, scope, group filter, pass-through, deprovision …) differs
 * from the one stored in `target_state` — a new target or a changed config — gets every resource it
 * wants or has linked enqueued (so existing users converge and those now out of scope are
 * deprovisioned), then the new hash is recorded.
 */
@Injectable()
export class ReconcileSweepService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(ReconcileSweepService.name);
  private timer?: NodeJS.Timeout;
  private startTimer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DbService,
    private readonly jobs: JobQueueService,
    private readonly states: TargetStateService,
    private readonly interest: TargetInterest,
  ) {}

  /** Backfills new or changed targets before the first push runs (awaited: on an empty store it costs one query per target). */
  async onApplicationBootstrap(): Promise<void> {
    const runId = `b${Date.now().toString(36)}`;
    for (const target of this.config.targets) {
      await this.backfillIfChanged(target, runId).catch(e => this.log.warn(`Backfill of ${target.id} failed (the sweep retries): ${(e as Error).message}`));
    }
    this.timer = setInterval(() => void this.sweep(SWEEP_GRACE_MS).catch(e => this.log.warn(`Sweep failed: ${(e as Error).message}`)), this.config.pipeline.sweepIntervalMs);
    this.startTimer = setTimeout(() => void this.sweep(SWEEP_GRACE_MS).catch(e => this.log.warn(`Sweep failed: ${(e as Error).message}`)), 1000).unref();
  }

  /** Before the database closes: no new sweep (the start-up one included), and the running one finishes. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.startTimer);
    await this.running?.catch(() => 0);
  }

  /**
   * One sweep over every target; returns how many pushes were enqueued (deduplicated ones included).
   * `graceMs`: resources and links changed more recently than this are left to the live path.
   */
  sweep(graceMs = 0): Promise<number> {
    this.running ??= this.run(graceMs).finally(() => { this.running = undefined; });
    return this.running;
  }

  private async run(graceMs: number): Promise<number> {
    const runId = Date.now().toString(36);
    const cutoff = new Date(Date.now() - graceMs).toISOString();
    let total = 0;
    for (const target of this.config.targets) {
      total += await this.behind(target, runId, cutoff);
      total += (await this.backfillIfChanged(target, runId)) ?? (await this.unlinked(target, runId, cutoff));
    }
    await this.purgeOrphanTombstones();
    await this.dropStaleDeadLetters();
    if (total) this.log.log(`Sweep ${runId} enqueued ${total} pushes`);
    return total;
  }

  /** Links whose pushed version lags the canonical one (failed links only once changed since failing). */
  private async behind(target: TargetConfig, runId: string, cutoff: string): Promise<number> {
    let n = 0;
    for (let after = ''; ;) {
      const rows: Array<{ resource_id: string; resource_type: ResourceTypeName; version: number }> = await this.db.manager.query(
        `SELECT l.resource_id, l.resource_type, r.version FROM target_link l
           LEFT JOIN scim_resource r ON r.id = l.resource_id
          WHERE l.target_id = $1 AND l.resource_id > $2
            AND ((r.id IS NOT NULL AND l.pushed_version < r.version) OR (r.id IS NULL AND l.status <> 'deprovisioned'))
            AND (l.status <> 'failed' OR r.last_modified > l.updated_at)
            AND l.updated_at <= $3 AND (r.id IS NULL OR r.last_modified <= $4)
          ORDER BY l.resource_id LIMIT ${PAGE}`.replace(/\$(\d)/g, this.db.isPostgres ? '$$$1' : '?'),
        [target.id, after, cutoff, cutoff],
      );
      n += await this.enqueue(target, rows.map(r => ({ id: r.resource_id, type: r.resource_type, version: r.version ?? 0 })), runId);
      if (rows.length < PAGE) return n;
      after = rows[rows.length - 1].resource_id;
    }
  }

  /** Live resources the target wants with no link there (lost events); inactive users only where deactivation means disable. */
  private async unlinked(target: TargetConfig, runId: string, cutoff: string): Promise<number> {
    let n = 0;
    const types = target.resourceTypes.map(t => `'${t === 'Group' ? 'Group' : 'User'}'`).join(',');
    for (let after = ''; ;) {
      const rows: Array<{ id: string }> = await this.db.manager.query(
        `SELECT r.id FROM scim_resource r
          WHERE r.resource_type IN (${types}) AND r.deleted_at IS NULL AND (r.active = $1 OR ${target.deprovision.onDeactivate === 'disable' ? '1 = 1' : '1 = 0'}) AND r.id > $2
            AND NOT EXISTS (SELECT 1 FROM target_link l WHERE l.target_id = $3 AND l.resource_id = r.id)
            AND r.last_modified <= $4
          ORDER BY r.id LIMIT ${PAGE}`.replace(/\$(\d)/g, this.db.isPostgres ? '$$$1' : '?'),
        [this.db.isPostgres ? true : 1, after, target.id, cutoff],
      );
      const resources = await this.interest.load(rows.map(r => r.id));
      const groups = await this.interest.groupsFor([target], resources);
      const wanted = resources.filter(r => this.interest.wants(target, r, groups));
      n += await this.enqueue(target, wanted.map(r => ({ id: r.id, type: r.resourceType, version: r.version })), runId);
      if (rows.length < PAGE) return n;
      after = rows[rows.length - 1].id;
    }
  }

  /** Backfills the target when its rules hash differs from the stored one; returns the pushes enqueued, or undefined when unchanged. */
  private async backfillIfChanged(target: TargetConfig, runId: string): Promise<number | undefined> {
    const hash = targetStateHash(target);
    if ((await this.states.get(target.id))?.configHash === hash) return undefined;
    const n = await this.backfill(target, runId);
    await this.states.recordBackfill(target.id, hash);
    this.log.log({ event: 'target.backfill', targetId: target.id, enqueued: n }, `Backfill of target ${target.id} (rules changed or new): ${n} pushes enqueued`);
    return n;
  }

  /**
   * Every resource of the target's types that it wants (in scope, selected) or has an active link for
   * (pending, synced, failed: so one that left scope is deprovisioned and a changed mapping converges).
   */
  private async backfill(target: TargetConfig, runId: string): Promise<number> {
    let n = 0;
    const types = target.resourceTypes.map(t => `'${t === 'Group' ? 'Group' : 'User'}'`).join(',');
    const active: ReadonlySet<LinkStatus> = new Set(['pending', 'synced', 'failed']);
    for (let after = ''; ;) {
      const rows: Array<{ id: string; status: LinkStatus | null }> = await this.db.manager.query(
        `SELECT r.id, l.status FROM scim_resource r
           LEFT JOIN target_link l ON l.target_id = $1 AND l.resource_id = r.id
          WHERE r.resource_type IN (${types}) AND r.id > $2 AND (r.deleted_at IS NULL OR l.status IS NOT NULL)
          ORDER BY r.id LIMIT ${PAGE}`.replace(/\$(\d)/g, this.db.isPostgres ? '$$$1' : '?'),
        [target.id, after],
      );
      const status = new Map(rows.map(r => [r.id, r.status]));
      const resources = await this.interest.load(rows.map(r => r.id));
      const groups = await this.interest.groupsFor([target], resources);
      const picked = resources.filter(r => active.has(status.get(r.id) as LinkStatus) || this.interest.wants(target, r, groups));
      n += await this.enqueue(target, picked.map(r => ({ id: r.id, type: r.resourceType, version: r.version })), runId);
      if (rows.length < PAGE) return n;
      after = rows[rows.length - 1].id;
    }
  }

  private async enqueue(target: TargetConfig, rows: Array<{ id: string; type: ResourceTypeName; version: number }>, runId: string): Promise<number> {
    const items = rows.map(r => ({
      data: { targetId: target.id, resourceType: r.type, resourceId: r.id, version: r.version, mode: 'live', correlationId: `sweep-${runId}` } satisfies PushJobData,
      trigger: { kind: 'sweep' as const, runId },
    }));
    await this.jobs.enqueuePushes(target.id, items, SWEEP_PRIORITY);
    return items.length;
  }

  /** Dead letters whose link has since synced (a push succeeded but Redis missed the removal). */
  private async dropStaleDeadLetters(): Promise<void> {
    const dlq = this.jobs.queue(QueueName.DeadLetter);
    for (let start = 0; ; start += 500) {
      const jobs = await dlq.getJobs(['waiting', 'prioritized'], start, start + 499);
      for (const job of jobs) {
        const d = job.data as DeadLetterJobData;
        const [row] = await this.db.manager.query(
          'SELECT status FROM target_link WHERE target_id = $1 AND resource_id = $2'.replace(/\$(\d)/g, this.db.isPostgres ? '$$$1' : '?'),
          [d.targetId, d.resourceId],
        );
        if (!row || row.status === 'synced' || row.status === 'deprovisioned') await job.remove().catch(() => undefined);
      }
      if (jobs.length < 500) return;
    }
  }

  /** Tombstones that no target ever linked need no deprovisioning: drop them. */
  private async purgeOrphanTombstones(): Promise<void> {
    await this.db.write(em => em.query(
      `DELETE FROM scim_resource WHERE deleted_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM target_link l WHERE l.resource_id = scim_resource.id)`,
    ));
  }
}
