import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, AppConfig, TargetConfig } from '../config/app-config.js';
import { DbService } from '../db/db.service.js';
import { ResourceTypeName } from '../scim/scim.constants.js';
import { JobQueueService, SWEEP_PRIORITY } from './job-queue.service.js';
import { DeadLetterJobData, PushJobData } from './job.types.js';
import { QueueName } from './queue-names.js';

/** Rows per sweep query page. */
const PAGE = 1000;

/**
 * Reconcile sweep (DESIGN.md, Data flow): re-enqueues from SQL — the source of truth — whatever the
 * queues should hold but may not: links whose pushed version is behind the canonical version
 * (tombstones included), and live resources with no link at a target that handles their type
 * (a new target gets every existing resource). Runs at start and periodically, at low priority, so a
 * Redis that lost its data heals by itself. Enqueues go through the one helper, so a push already
 * waiting or running is never doubled.
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
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep().catch(e => this.log.warn(`Sweep failed: ${(e as Error).message}`)), this.config.pipeline.sweepIntervalMs);
    this.startTimer = setTimeout(() => void this.sweep().catch(e => this.log.warn(`Sweep failed: ${(e as Error).message}`)), 1000).unref();
  }

  /** Before the database closes: no new sweep (the start-up one included), and the running one finishes. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.startTimer);
    await this.running?.catch(() => 0);
  }

  /** One sweep over every target; returns how many pushes were enqueued (deduplicated ones included). */
  sweep(): Promise<number> {
    this.running ??= this.run().finally(() => { this.running = undefined; });
    return this.running;
  }

  private async run(): Promise<number> {
    const runId = Date.now().toString(36);
    let total = 0;
    for (const target of this.config.targets) {
      total += await this.behind(target, runId);
      total += await this.unlinked(target, runId);
    }
    await this.purgeOrphanTombstones();
    await this.dropStaleDeadLetters();
    if (total) this.log.log(`Sweep ${runId} enqueued ${total} pushes`);
    return total;
  }

  /** Links whose pushed version lags the canonical one (failed links only once changed since failing). */
  private async behind(target: TargetConfig, runId: string): Promise<number> {
    let n = 0;
    for (let after = ''; ;) {
      const rows: Array<{ resource_id: string; resource_type: ResourceTypeName; version: number }> = await this.db.manager.query(
        `SELECT l.resource_id, l.resource_type, r.version FROM target_link l
           LEFT JOIN scim_resource r ON r.id = l.resource_id
          WHERE l.target_id = $1 AND l.resource_id > $2
            AND ((r.id IS NOT NULL AND l.pushed_version < r.version) OR (r.id IS NULL AND l.status <> 'deprovisioned'))
            AND (l.status <> 'failed' OR r.last_modified > l.updated_at)
          ORDER BY l.resource_id LIMIT ${PAGE}`.replace(/\$(\d)/g, this.db.isPostgres ? '$$$1' : '?'),
        [target.id, after],
      );
      n += await this.enqueue(target, rows.map(r => ({ id: r.resource_id, type: r.resource_type, version: r.version ?? 0 })), runId);
      if (rows.length < PAGE) return n;
      after = rows[rows.length - 1].resource_id;
    }
  }

  /** Live resources of the target's types with no link there (new target, or lost events); inactive users only where deactivation means disable. */
  private async unlinked(target: TargetConfig, runId: string): Promise<number> {
    let n = 0;
    const types = target.resourceTypes.map(t => `'${t === 'Group' ? 'Group' : 'User'}'`).join(',');
    for (let after = ''; ;) {
      const rows: Array<{ id: string; resource_type: ResourceTypeName; version: number }> = await this.db.manager.query(
        `SELECT r.id, r.resource_type, r.version FROM scim_resource r
          WHERE r.resource_type IN (${types}) AND r.deleted_at IS NULL AND (r.active = $1 OR ${target.deprovision.onDeactivate === 'disable' ? '1 = 1' : '1 = 0'}) AND r.id > $2
            AND NOT EXISTS (SELECT 1 FROM target_link l WHERE l.target_id = $3 AND l.resource_id = r.id)
          ORDER BY r.id LIMIT ${PAGE}`.replace(/\$(\d)/g, this.db.isPostgres ? '$$$1' : '?'),
        [this.db.isPostgres ? true : 1, after, target.id],
      );
      n += await this.enqueue(target, rows.map(r => ({ id: r.id, type: r.resource_type, version: r.version })), runId);
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
