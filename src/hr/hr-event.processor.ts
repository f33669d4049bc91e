import { Inject, Injectable, Logger } from '@nestjs/common';
import { LessThanOrEqual } from 'typeorm';
import { nowIso } from '../common/clock.js';
import { APP_CONFIG, AppConfig } from '../config/app-config.js';
import { HrSourceConfig } from '../config/hr-config.dto.js';
import { DbService } from '../db/db.service.js';
import { MetricsService } from '../ops/metrics.service.js';
import { HrEventEntity } from './hr-event.entity.js';
import { HrIdentityWriter, HrPermanentError } from './hr-identity.writer.js';
import { hrMetrics, HrMetrics } from './hr.metrics.js';
import { ScheduledChangeEntity } from './scheduled-change.entity.js';

/** Reason of an update that came before its employee's identity existed (re-applied when the hire is provisioned). */
export const NO_IDENTITY_YET = 'no identity for this employee yet (no hire provisioned, nothing matched)';

/** What a run did — returned, not thrown, so metrics count it without tripping retries (STYLE.md §3). */
export type HrOutcome = 'applied' | 'ignored' | 'not-due' | 'skipped' | 'failed';

/**
 * The worker side of HR events. `handleEvent` (queue `hr-events`) applies an accepted event's
 * attributes to its employee's identity and asks for wake-ups of its scheduled changes;
 * `handleDue` (queue `hr-due`) re-reads one `scheduled_change` row and applies it only if it is
 * still pending and due. Both are safe to run twice: the row's status, the per-attribute timestamps
 * and the write path's no-change short-circuit make a repeat a no-op.
 */
@Injectable()
export class HrEventProcessor {
  private readonly log = new Logger(HrEventProcessor.name);
  private readonly metrics: HrMetrics;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DbService,
    private readonly writer: HrIdentityWriter,
    metrics: MetricsService,
  ) {
    this.metrics = hrMetrics(metrics.registry);
  }

  /** Processes one stored HR event. Returns its pending scheduled changes, which the caller wakes. */
  async handleEvent(hrEventId: string): Promise<{ outcome: HrOutcome; wake: ScheduledChangeEntity[] }> {
    const ev = await this.db.manager.findOneBy(HrEventEntity, { id: hrEventId });
    if (!ev || ev.status !== 'accepted') return { outcome: 'skipped', wake: [] };
    const source = this.writer.source(ev.sourceId);
    if (!source) return { outcome: await this.finish(ev, 'failed', `HR source ${ev.sourceId} is no longer configured`), wake: [] };
    try {
      let outcome: HrOutcome = 'applied';
      let reason: string | null = null;
      if (ev.action === 'update') {
        const r = await this.writer.write(source, ev, { create: false });
        if (!r) { outcome = 'ignored'; reason = NO_IDENTITY_YET; }
      } else if (ev.action === 'hire' || ev.action === 'terminate') {
        // Attributes that come with a dated action (job title, end date) apply now to a known identity;
        // the action itself waits for its scheduled_change row.
        await this.writer.write(source, ev, { create: false });
      }
      const wake = await this.db.manager.findBy(ScheduledChangeEntity, { hrEventId: ev.id, status: 'pending' });
      await this.finish(ev, outcome, reason);
      return { outcome, wake };
    } catch (e) {
      if (e instanceof HrPermanentError) return { outcome: await this.finish(ev, 'failed', e.message), wake: [] };
      throw e;
    }
  }

  /** Marks the event failed after its last attempt (temporary errors that never healed). */
  async giveUp(hrEventId: string, reason: string): Promise<void> {
    const ev = await this.db.manager.findOneBy(HrEventEntity, { id: hrEventId });
    if (ev?.status === 'accepted') await this.finish(ev, 'failed', reason);
  }

  /**
   * Applies one scheduled change if still `pending` and due (`not-due` otherwise: the caller re-delays
   * the wake-up to the row's current time). The row is the truth; the job only woke us.
   */
  async handleDue(scheduledChangeId: string, nowMs = Date.now()): Promise<{ outcome: HrOutcome; effectiveAtMs?: number }> {
    const row = await this.db.manager.findOneBy(ScheduledChangeEntity, { id: scheduledChangeId });
    if (!row || row.status !== 'pending') return { outcome: 'skipped' };
    const at = Date.parse(row.effectiveAt);
    if (at > nowMs) return { outcome: 'not-due', effectiveAtMs: at };
    const ev = await this.db.manager.findOneBy(HrEventEntity, { id: row.hrEventId });
    const source = this.writer.source(row.sourceId);
    if (!ev || !source) return { outcome: await this.close(row, 'superseded', null) };
    try {
      let resourceId: string | null = null;
      if (row.action === 'hire') {
        const waitsForStart = source.inactiveUntilStart && !!(await this.db.manager.findOneBy(ScheduledChangeEntity, {
          sourceId: row.sourceId, employeeId: row.employeeId, action: 'activate', status: 'pending',
        }));
        resourceId = (await this.writer.write(source, ev, { create: true, active: !waitsForStart }))?.id ?? null;
        await this.replayEarlyUpdates(source, row);
      } else if (row.action === 'activate') {
        resourceId = (await this.writer.write(source, ev, { create: false, active: true, activeOnly: true }))?.id ?? null;
      } else {
        resourceId = (await this.writer.write(source, ev, { create: false, active: false }))?.id ?? null;
      }
      const outcome = await this.close(row, 'applied', resourceId);
      if (outcome === 'applied') this.metrics.scheduledApplied.inc({ source: row.sourceId, action: row.action });
      this.log.log({ sourceId: row.sourceId, scheduledChangeId: row.id, action: row.action, resourceId }, `Scheduled ${row.action} applied`);
      return { outcome };
    } catch (e) {
      // A 4xx-class problem (invalid value, ambiguous match) never heals: the row ends `failed`, once.
      if (e instanceof HrPermanentError) return { outcome: await this.fail(row, ev, e.message) };
      throw e;
    }
  }

  /**
   * Updates that arrived between a future hire's webhook and its provisioning found no identity; now
   * that it exists they apply in source-time order (the per-attribute timestamps keep the newest).
   */
  private async replayEarlyUpdates(source: HrSourceConfig, row: ScheduledChangeEntity): Promise<void> {
    const early = await this.db.manager.find(HrEventEntity, {
      where: { sourceId: row.sourceId, employeeId: row.employeeId, action: 'update', status: 'ignored', reason: NO_IDENTITY_YET },
      order: { sourceTs: 'ASC' },
    });
    for (const ev of early) {
      let outcome: { status: 'applied' | 'failed'; reason: string } = { status: 'applied', reason: 'applied when the hire was provisioned' };
      try {
        await this.writer.write(source, ev, { create: false });
      } catch (e) {
        // One bad early update fails alone; the hire itself is provisioned.
        if (!(e instanceof HrPermanentError)) throw e;
        outcome = { status: 'failed', reason: `early update cannot apply: ${e.message}`.slice(0, 1024) };
      }
      await this.db.write(em => em.update(HrEventEntity, { id: ev.id, status: 'ignored' }, { ...outcome, processedAt: nowIso() }));
    }
  }

  /** Pending rows due at `nowMs` (sweep), oldest first. */
  due(nowMs = Date.now(), limit = 500): Promise<ScheduledChangeEntity[]> {
    return this.db.manager.find(ScheduledChangeEntity, {
      where: { status: 'pending', effectiveAt: LessThanOrEqual(new Date(nowMs).toISOString()) }, order: { effectiveAt: 'ASC' }, take: limit,
    });
  }

  /** Accepted events not processed within `staleAfterMs` whose outbox row was published (their job was lost). */
  async stale(nowMs = Date.now(), limit = 500): Promise<HrEventEntity[]> {
    const cutoff = new Date(nowMs - this.config.hr.staleAfterMs).toISOString();
    const rows = await this.db.manager.find(HrEventEntity, { where: { status: 'accepted', receivedAt: LessThanOrEqual(cutoff) }, take: limit });
    if (!rows.length) return [];
    const unpublished: Array<{ resource_id: string }> = await this.db.manager.query(
      `SELECT resource_id FROM change_event WHERE published_at IS NULL AND resource_id IN (${rows.map((_, i) => `$${i + 1}`).join(', ')})`
        .replace(/\$(\d+)/g, this.db.isPostgres ? '$$$1' : '?'),
      rows.map(r => r.id),
    );
    const waiting = new Set(unpublished.map(r => r.resource_id));
    return rows.filter(r => !waiting.has(r.id));
  }

  private async finish(ev: HrEventEntity, status: 'applied' | 'ignored' | 'failed', reason: string | null): Promise<HrOutcome> {
    await this.db.write(em => em.update(HrEventEntity, { id: ev.id, status: 'accepted' }, { status, reason: reason?.slice(0, 1024) ?? null, processedAt: nowIso() }));
    this.metrics.processed.inc({ source: ev.sourceId, result: status });
    if (status === 'failed') this.log.error({ sourceId: ev.sourceId, hrEventId: ev.id }, `HR event failed: ${reason}`);
    return status;
  }

  /**
   * Marks a scheduled change `failed` (only if still pending) and its HR event `failed` with the reason,
   * which the operator reads at /admin/hr/scheduled-changes and /admin/hr/events.
   */
  private async fail(row: ScheduledChangeEntity, ev: HrEventEntity, message: string): Promise<HrOutcome> {
    const now = nowIso();
    const reason = `scheduled ${row.action} cannot apply: ${message}`.slice(0, 1024);
    const res = await this.db.write(async em => {
      const r = await em.update(ScheduledChangeEntity, { id: row.id, status: 'pending', effectiveAt: row.effectiveAt }, { status: 'failed', updatedAt: now });
      if (r.affected) await em.update(HrEventEntity, { id: ev.id }, { status: 'failed', reason, processedAt: now });
      return r;
    });
    if (!res.affected) return 'skipped';
    this.metrics.processed.inc({ source: row.sourceId, result: 'failed' });
    this.log.error({ sourceId: row.sourceId, scheduledChangeId: row.id, hrEventId: ev.id }, reason);
    return 'failed';
  }

  /** Closes a row only if still pending (a concurrent cancel or correction wins). */
  private async close(row: ScheduledChangeEntity, status: 'applied' | 'superseded', resourceId: string | null): Promise<HrOutcome> {
    const now = nowIso();
    const res = await this.db.write(em => em.update(ScheduledChangeEntity, { id: row.id, status: 'pending', effectiveAt: row.effectiveAt }, {
      status, resourceId, appliedAt: status === 'applied' ? now : null, updatedAt: now,
    }));
    return res.affected ? (status === 'applied' ? 'applied' : 'skipped') : 'skipped';
  }
}
