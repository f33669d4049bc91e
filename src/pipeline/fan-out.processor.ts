import { Inject, Injectable } from '@nestjs/common';
import { In, MoreThan } from 'typeorm';
import { nowIso } from '../common/clock.js';
import { APP_CONFIG, AppConfig, TargetConfig } from '../config/app-config.js';
import { DbService } from '../db/db.service.js';
import { ChangeEventEntity } from '../identity/change-event.entity.js';
import { GroupMemberEntity } from '../identity/group-member.entity.js';
import { ResourceService } from '../identity/resource.service.js';
import { StoredResource } from '../identity/resource.types.js';
import { TargetLinkEntity } from '../targets/target-link.entity.js';
import { TargetLinkService } from '../targets/target-link.service.js';
import { targetScope } from '../targets/target-rules.js';
import { TargetStateService } from '../targets/target-state.service.js';
import { FanOutJobData, PushJobData, PushTrigger } from './job.types.js';
import { JobQueueService, SWEEP_PRIORITY } from './job-queue.service.js';
import { TargetInterest } from './target-interest.service.js';

/** What a fan-out decided, per target (returned for metrics and tests). */
export type FanOutOutcome = Record<string, 'enqueued' | 'not-interested'>;

/** Members re-evaluated per query / addBulk round trip. */
const MEMBER_CHUNK = 500;
/** The outbox keeps at most this many touched ids (ResourceService.emit); a list that long may be cut. */
const TOUCHED_CAP = 10_000;

/**
 * `changes` processor: for one outbox event, decides which targets care and enqueues one push per
 * target through the one enqueue helper. A target cares when it handles the resource type and either
 * already has a link (always — so a deactivation racing an in-flight create is never skipped) or wants
 * the resource (TargetInterest: in scope, selected by the group filter; a new link is written
 * `pending` before the enqueue).
 *
 * Group-based assignment: a group event re-evaluates, at every target whose scope reads `groups.*`, the
 * members it added or removed (the outbox row's `touched`), and after a rename every member where the
 * scope reads `groups.display` (paged, at sweep priority) — pending links first for members now wanted.
 * A change touching more members than the outbox lists (10,000) marks those targets for a backfill.
 * Safe to run twice: link upserts are idempotent and push job ids are derived from the outbox id.
 */
@Injectable()
export class FanOutProcessor {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DbService,
    private readonly resources: ResourceService,
    private readonly links: TargetLinkService,
    private readonly jobs: JobQueueService,
    private readonly interest: TargetInterest,
    private readonly states: TargetStateService,
  ) {}

  async handle(data: FanOutJobData): Promise<FanOutOutcome> {
    const outcome: FanOutOutcome = {};
    const resource = await this.resources.findAny(data.resourceId);
    const groups = resource ? await this.interest.groupsFor(this.config.targets, [resource]) : new Map();
    const linked = new Set((await this.links.linksOf(data.resourceId)).map(l => l.targetId));
    for (const target of this.config.targets) {
      if (!target.resourceTypes.includes(data.resourceType)) { outcome[target.id] = 'not-interested'; continue; }
      if (!linked.has(target.id)) {
        if (!resource || !this.interest.wants(target, resource, groups)) { outcome[target.id] = 'not-interested'; continue; }
        await this.links.ensurePending(target.id, data.resourceType, data.resourceId);
      }
      await this.jobs.enqueuePush(
        { targetId: target.id, resourceType: data.resourceType, resourceId: data.resourceId, version: data.version, mode: 'live', correlationId: data.correlationId },
        { kind: 'event', outboxId: data.outboxId },
      );
      outcome[target.id] = 'enqueued';
    }
    if (data.resourceType === 'Group') await this.reassign(data, resource);
    return outcome;
  }

  /** Group-based assignment: members whose scope may have changed with this group event. */
  private async reassign(data: FanOutJobData, group: StoredResource | undefined): Promise<void> {
    const targets = this.config.targets.filter(t => t.resourceTypes.includes('User') && targetScope(t).referencesGroups);
    if (!targets.length) return;
    const row = await this.db.manager.findOneBy(ChangeEventEntity, { id: data.outboxId });
    const touched = row?.touched ?? [];
    for (let i = 0; i < touched.length; i += MEMBER_CHUNK) await this.reevaluate(targets, touched.slice(i, i + MEMBER_CHUNK), data);
    // Possibly cut: the members past the cap are re-evaluated by a backfill at the next sweep.
    if (touched.length >= TOUCHED_CAP) for (const t of targets) await this.states.invalidate(t.id);

    const byName = targets.filter(t => targetScope(t).referencesGroupDisplay);
    if (!byName.length) return;
    const key = `${this.config.env.queuePrefix}:group-display`;
    if (!group || group.deletedAt) { await this.jobs.connection.hdel(key, data.resourceId); return; }
    const display = String(group.doc.displayName ?? '');
    const seen = await this.jobs.connection.hget(key, group.id);
    if (seen === display) return;
    // A new group's members are all in `touched`; otherwise (renamed, or never seen since Redis lost it) every member.
    if (group.version > 1 || seen !== null) {
      for (let after = ''; ;) {
        const page = await this.db.manager.find(GroupMemberEntity, {
          where: { groupId: group.id, ...(after ? { memberId: MoreThan(after) } : {}) }, order: { memberId: 'ASC' }, take: MEMBER_CHUNK,
        });
        await this.reevaluate(byName, page.map(m => m.memberId), data, SWEEP_PRIORITY);
        if (page.length < MEMBER_CHUNK) break;
        after = page[page.length - 1].memberId;
      }
    }
    await this.jobs.connection.hset(key, group.id, display);
  }

  /** Enqueues the users among `ids` that each target has linked or now wants (pending link first). */
  private async reevaluate(targets: TargetConfig[], ids: string[], data: FanOutJobData, priority?: number): Promise<void> {
    const users = (await this.interest.load(ids)).filter(r => r.resourceType === 'User');
    if (!users.length) return;
    const groups = await this.interest.groupsFor(targets, users);
    const links = await this.db.manager.find(TargetLinkEntity, { select: { targetId: true, resourceId: true }, where: { resourceId: In(users.map(u => u.id)) } });
    const linked = new Set(links.map(l => `${l.targetId}/${l.resourceId}`));
    const trigger: PushTrigger = { kind: 'event', outboxId: data.outboxId };
    for (const target of targets) {
      const fresh = users.filter(u => !linked.has(`${target.id}/${u.id}`) && this.interest.wants(target, u, groups));
      const push = users.filter(u => linked.has(`${target.id}/${u.id}`)).concat(fresh);
      await this.pending(target.id, fresh.map(u => u.id));
      await this.jobs.enqueuePushes(target.id, push.map(u => ({
        data: { targetId: target.id, resourceType: 'User', resourceId: u.id, version: u.version, mode: 'live', correlationId: data.correlationId } satisfies PushJobData,
        trigger,
      })), priority);
    }
  }

  /** Pending links for many users in a few inserts (ensurePending, batched). */
  private async pending(targetId: string, ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 50) {
      const now = nowIso();
      await this.db.write(em => em.createQueryBuilder().insert().into(TargetLinkEntity).values(ids.slice(i, i + 50).map(resourceId => ({
        targetId, resourceId, resourceType: 'User' as const, remoteId: null, status: 'pending' as const, pushedVersion: 0, pushedHash: null, pushedState: null,
        remoteActive: null, lastError: null, attempts: 0, updatedAt: now, syncedAt: null,
      }))).orIgnore().execute());
    }
  }
}
