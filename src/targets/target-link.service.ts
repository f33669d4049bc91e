import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { nowIso } from '../common/clock.js';
import { DbService } from '../db/db.service.js';
import { ResourceTypeName } from '../scim/scim.constants.js';
import { PushAction, PushLogEntity } from './push-log.entity.js';
import { TargetGroupMemberEntity } from './target-group-member.entity.js';
import { LinkStatus, TargetLinkEntity } from './target-link.entity.js';

/** One push-log row's content. */
export interface PushLogInput {
  targetId: string; resourceType: string; resourceId: string; action: PushAction; version: number;
  httpStatus?: number; durationMs: number; ok: boolean; error?: string; jobId?: string; correlationId?: string;
}

/** Target links, the group-membership shadow and the push log: what Switchboard knows of each target. */
@Injectable()
export class TargetLinkService {
  constructor(private readonly db: DbService) {}

  linksOf(resourceId: string): Promise<TargetLinkEntity[]> {
    return this.db.manager.findBy(TargetLinkEntity, { resourceId });
  }

  get(targetId: string, resourceId: string): Promise<TargetLinkEntity | null> {
    return this.db.manager.findOneBy(TargetLinkEntity, { targetId, resourceId });
  }

  /** Creates the link as `pending` if it does not exist (fan-out writes it before enqueueing). */
  async ensurePending(targetId: string, resourceType: ResourceTypeName, resourceId: string): Promise<void> {
    await this.db.write(em => em.createQueryBuilder().insert().into(TargetLinkEntity).values({
      targetId, resourceId, resourceType, remoteId: null, status: 'pending', pushedVersion: 0, pushedHash: null, pushedState: null,
      remoteActive: null, lastError: null, attempts: 0, updatedAt: nowIso(), syncedAt: null,
    }).orIgnore().execute());
  }

  /** Updates fields of a link. */
  async update(targetId: string, resourceId: string, patch: Partial<TargetLinkEntity>): Promise<void> {
    await this.db.write(em => em.update(TargetLinkEntity, { targetId, resourceId }, { ...patch, updatedAt: nowIso() } as QueryDeepPartialEntity<TargetLinkEntity>));
  }

  /** Marks the link failed with an error summary (no attribute values). */
  async markFailed(targetId: string, resourceId: string, error: string, attempts: number): Promise<void> {
    await this.update(targetId, resourceId, { status: 'failed' as LinkStatus, lastError: error.slice(0, 1000), attempts });
  }

  async deleteLink(targetId: string, resourceId: string): Promise<void> {
    await this.db.write(async em => {
      await em.delete(TargetLinkEntity, { targetId, resourceId });
      await em.delete(TargetGroupMemberEntity, { targetId, groupId: resourceId });
    });
  }

  /** Remote ids of the given canonical resources at a target, for those that are synced there. */
  async remoteIds(targetId: string, resourceIds: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < resourceIds.length; i += 500) {
      const rows = await this.db.manager.find(TargetLinkEntity, { where: { targetId, resourceId: In(resourceIds.slice(i, i + 500)), status: In(['synced']) } });
      for (const r of rows) if (r.remoteId) out.set(r.resourceId, r.remoteId);
    }
    return out;
  }

  /** Members of a group as last pushed to a target. */
  async shadowMembers(targetId: string, groupId: string): Promise<Set<string>> {
    const rows = await this.db.manager.findBy(TargetGroupMemberEntity, { targetId, groupId });
    return new Set(rows.map(r => r.memberId));
  }

  /** Records a pushed membership delta in the shadow. */
  async applyShadowDelta(targetId: string, groupId: string, added: string[], removed: string[]): Promise<void> {
    await this.db.transaction(async em => {
      for (let i = 0; i < added.length; i += 200) {
        await em.createQueryBuilder().insert().into(TargetGroupMemberEntity)
          .values(added.slice(i, i + 200).map(memberId => ({ targetId, groupId, memberId }))).orIgnore().execute();
      }
      for (let i = 0; i < removed.length; i += 500) await em.delete(TargetGroupMemberEntity, { targetId, groupId, memberId: In(removed.slice(i, i + 500)) });
    });
  }

  async clearShadow(targetId: string, groupId: string): Promise<void> {
    await this.db.write(em => em.delete(TargetGroupMemberEntity, { targetId, groupId }));
  }

  /** Appends one push-log row. */
  async log(entry: PushLogInput): Promise<void> {
    await this.db.write(em => em.insert(PushLogEntity, {
      targetId: entry.targetId, resourceType: entry.resourceType, resourceId: entry.resourceId, action: entry.action, version: entry.version,
      httpStatus: entry.httpStatus ?? null, durationMs: Math.round(entry.durationMs), ok: entry.ok, error: entry.error?.slice(0, 1000) ?? null,
      jobId: entry.jobId ?? null, correlationId: entry.correlationId ?? null, createdAt: nowIso(),
    }));
  }
}
