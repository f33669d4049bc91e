import { Injectable } from '@nestjs/common';
import { nowIso } from '../common/clock.js';
import { DbService } from '../db/db.service.js';
import { TargetStateEntity } from './target-state.entity.js';

/** Reads and writes `target_state` rows (rules hash of the last backfill, quarantine). */
@Injectable()
export class TargetStateService {
  constructor(private readonly db: DbService) {}

  get(targetId: string): Promise<TargetStateEntity | null> {
    return this.db.manager.findOneBy(TargetStateEntity, { targetId });
  }

  all(): Promise<TargetStateEntity[]> {
    return this.db.manager.find(TargetStateEntity);
  }

  /** A backfill of every resource under `configHash` has been enqueued. */
  recordBackfill(targetId: string, configHash: string): Promise<void> {
    const now = nowIso();
    return this.upsert(targetId, { configHash, backfilledAt: now });
  }

  /** Forgets the backfilled hash: the next sweep backfills the target (e.g. a membership change too large to list). */
  invalidate(targetId: string): Promise<void> {
    return this.upsert(targetId, { configHash: null });
  }

  /** Sets (`since` = ISO instant) or clears (`null`) the mass-deletion quarantine. */
  setQuarantine(targetId: string, since: string | null, reason: string | null): Promise<void> {
    return this.upsert(targetId, { quarantinedAt: since, quarantineReason: reason?.slice(0, 512) ?? null });
  }

  private async upsert(targetId: string, patch: Partial<TargetStateEntity>): Promise<void> {
    const now = nowIso();
    await this.db.write(async em => {
      const res = await em.update(TargetStateEntity, { targetId }, { ...patch, updatedAt: now });
      if (!res.affected) {
        await em.createQueryBuilder().insert().into(TargetStateEntity).values({
          targetId, configHash: null, backfilledAt: null, quarantinedAt: null, quarantineReason: null, ...patch, updatedAt: now,
        }).orUpdate(Object.keys(patch).map(k => em.connection.getMetadata(TargetStateEntity).findColumnWithPropertyName(k)!.databaseName), ['target_id']).execute();
      }
    });
  }
}
