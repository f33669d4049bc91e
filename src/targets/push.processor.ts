import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig, TargetConfig } from '../config/app-config.js';
import { DeprovisionAction } from '../config/file-config.dto.js';
import { diffMapped, hashMapped } from '../mapping/diff.js';
import { createPayloadOf, mapResource } from '../mapping/map-resource.js';
import { ResourceService } from '../identity/resource.service.js';
import { StoredResource } from '../identity/resource.types.js';
import { JobQueueService } from '../pipeline/job-queue.service.js';
import { PushJobData } from '../pipeline/job.types.js';
import { ResourceTypeName } from '../scim/scim.constants.js';
import { PushAction } from './push-log.entity.js';
import { ScimClient, ScimObject, ScimResponse } from './scim-client.js';
import { TargetClients } from './target-clients.service.js';
import { TargetError, TargetErrorKind } from './target.error.js';
import { TargetLinkService } from './target-link.service.js';
import { TargetLinkEntity } from './target-link.entity.js';
import { GroupMembershipPusher } from './group-membership.pusher.js';
import { DeletionGuardService } from './deletion-guard.service.js';
import { targetScope } from './target-rules.js';

/** How one push ended; failures are thrown as TargetError instead. */
export type PushOutcome = 'created' | 'linked' | 'updated' | 'unchanged' | 'disabled' | 'deleted' | 'left' | 'skipped' | 'held';

/** What decide() wants at the target, and why (the why picks the link status and the deletion guard). */
export interface PushDecision { step: 'upsert' | DeprovisionAction; reason: 'in-scope' | 'out-of-scope' | 'deactivated' | 'deleted'; inScope: boolean }

/** Context of one push attempt, for the push log. */
export interface PushContext { jobId?: string; attempt: number }

/**
 * Push processor (DESIGN.md principle 1): reconciles one resource to one target from CURRENT state —
 * never from the event that triggered it — so coalesced, retried, replayed or reordered jobs do no harm.
 * Map → (match or create) → diff against the last pushed state → minimal PATCH; deactivation and
 * deletion follow the target's `deprovision` policy; group membership follows as deltas. Safe to run
 * twice: an unchanged mapped-state hash sends nothing (unless mode is `force`), a 409 on create links.
 */
@Injectable()
export class PushProcessor {
  private readonly log = new Logger(PushProcessor.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly resources: ResourceService,
    private readonly links: TargetLinkService,
    private readonly clients: TargetClients,
    private readonly jobs: JobQueueService,
    private readonly members: GroupMembershipPusher,
    private readonly guard: DeletionGuardService,
  ) {}

  async handle(data: PushJobData, ctx: PushContext): Promise<PushOutcome> {
    const target = this.target(data.targetId);
    const resource = await this.resources.findAny(data.resourceId);
    let link = await this.links.get(target.id, data.resourceId);
    const live = !!resource && !resource.deletedAt;
    const decision = await this.decide(target, data.resourceType, resource);
    const version = resource?.version ?? link?.pushedVersion ?? 0;
    const log = (action: PushAction, r: { status?: number; durationMs?: number }, ok = true, error?: string) => this.links.log({
      targetId: target.id, resourceType: data.resourceType, resourceId: data.resourceId, action, version, httpStatus: r.status,
      durationMs: r.durationMs ?? 0, ok, error, jobId: ctx.jobId, correlationId: data.correlationId,
    });
    if (!link) {
      if (!live || (resource.resourceType === 'User' && !resource.active && target.deprovision.onDeactivate !== 'disable')) return 'skipped';
      // Never provisioned and not wanted there: a recorded skip, no HTTP.
      if (!decision.inScope) { await log('skip', {}, true, 'out of scope'); return 'skipped'; }
      await this.links.ensurePending(target.id, resource.resourceType, resource.id);
      link = (await this.links.get(target.id, data.resourceId))!;
    }
    const step = decision.step;
    const gated = await this.gate(target, data, resource, link, decision, log);
    if (gated) return gated;
    // Which call is under way, so a failure is logged with the action that failed.
    const current: { action: PushAction } = { action: step === 'delete' ? 'delete' : 'update' };
    try {
      const outcome = await this.run(target, data, resource, link, step, log, current);
      if (decision.reason === 'out-of-scope') await this.links.update(target.id, link.resourceId, { status: 'out_of_scope' });
      // A dead letter exists only for a link marked failed; skip the Redis round trip otherwise.
      if (link.status === 'failed') await this.jobs.clearDeadLetter(target.id, data.resourceType, data.resourceId).catch(() => false);
      if (step !== 'upsert' && resource?.deletedAt) await this.maybePurge(resource.id);
      return outcome;
    } catch (e) {
      if (e instanceof TargetError) await log(current.action, { status: e.status, durationMs: e.durationMs }, false, e.message);
      throw e;
    }
  }

  /**
   * What the target should end up with for this resource: deleted → `deprovision.onDelete`; inactive
   * user → `onDeactivate`; outside the target's `scope` (users; group-based assignment reads the user's
   * groups) or not selected by `groups` (groups) → `onOutOfScope`; else upsert. Groups are deleted or
   * left, never disabled.
   */
  private async decide(target: TargetConfig, type: ResourceTypeName, r: StoredResource | undefined): Promise<PushDecision> {
    const groupAction = (a: DeprovisionAction) => (a === 'delete' ? 'delete' : 'none');
    if (!r || r.deletedAt) return { step: type === 'Group' ? groupAction(target.deprovision.onDelete) : target.deprovision.onDelete, reason: 'deleted', inScope: false };
    const scope = targetScope(target);
    const inScope = type === 'Group'
      ? scope.groupSelected(r)
      : scope.inScope(r, scope.referencesGroups ? (await this.resources.groupsOf([r.id])).get(r.id) ?? [] : []);
    if (type === 'User' && !r.active) return { step: target.deprovision.onDeactivate, reason: 'deactivated', inScope };
    if (!inScope) return { step: type === 'Group' ? groupAction(target.deprovision.onOutOfScope) : target.deprovision.onOutOfScope, reason: 'out-of-scope', inScope };
    return { step: 'upsert', reason: 'in-scope', inScope };
  }

  /**
   * Deprovisioning safety before any HTTP: an out-of-scope account is left alone (recorded skip) when
   * `skipOutOfScopeDeletions` is set, the policy is `none`, nothing exists remotely or it is already
   * disabled; a disable or delete of a live remote account asks the mass-deletion guard first — held
   * (quarantined target: re-enqueued behind the paused queue, no attempt spent) or rejected by an
   * operator (recorded skip; the link stays). Returns the outcome when the push ends here.
   */
  private async gate(
    target: TargetConfig, data: PushJobData, resource: StoredResource | undefined, link: TargetLinkEntity, decision: PushDecision,
    log: (a: PushAction, r: { status?: number }, ok?: boolean, err?: string) => Promise<void>,
  ): Promise<PushOutcome | undefined> {
    const { step } = decision;
    const version = resource?.version ?? link.pushedVersion;
    if (decision.reason === 'out-of-scope') {
      const done = !link.remoteId || (step === 'disable' && link.status === 'out_of_scope' && link.remoteActive === false);
      if (target.skipOutOfScopeDeletions || step === 'none' || done) {
        await log('skip', {}, true, target.skipOutOfScopeDeletions ? 'out of scope: skipOutOfScopeDeletions' : 'out of scope: nothing to do');
        await this.links.update(target.id, link.resourceId, { status: 'out_of_scope', pushedVersion: version, lastError: null, attempts: 0 });
        return link.remoteId && !done ? 'left' : 'skipped';
      }
    }
    const deprovisions = !!link.remoteId && (step === 'delete' || (step === 'disable' && link.remoteActive !== false));
    if (!deprovisions) return undefined;
    const verdict = await this.guard.admit(target, link.resourceId);
    if (verdict === 'proceed') return undefined;
    if (verdict === 'reject') {
      await log('skip', {}, true, `${step} rejected by an operator (deletion guard)`);
      await this.links.update(target.id, link.resourceId, { pushedVersion: version });
      return 'skipped';
    }
    await log('skip', {}, true, `${step} held: target quarantined by the deletion guard`);
    await this.jobs.enqueuePush(data, { kind: 'follow-up', reason: 'held', n: Date.now().toString(36) });
    return 'held';
  }

  private async run(
    target: TargetConfig, data: PushJobData, resource: StoredResource | undefined, link: TargetLinkEntity,
    step: 'upsert' | DeprovisionAction, log: (a: PushAction, r: { status?: number; durationMs?: number }, ok?: boolean, err?: string) => Promise<void>,
    current: { action: PushAction },
  ): Promise<PushOutcome> {
    const client = this.clients.get(target.id);
    const type = data.resourceType;
    if (step === 'delete') {
      if (link.remoteId) {
        const r = await client.delete(type, link.remoteId);
        await log('delete', r);
      }
      if (type === 'Group') await this.links.clearShadow(target.id, link.resourceId);
      await this.links.update(target.id, link.resourceId, { status: 'deprovisioned', remoteId: null, pushedVersion: resource?.version ?? link.pushedVersion, pushedHash: null, pushedState: null, remoteActive: null, lastError: null, attempts: 0 });
      return 'deleted';
    }
    if (step === 'none' && (!resource || resource.deletedAt || !link.remoteId)) {
      await log('skip', {});
      await this.links.update(target.id, link.resourceId, { status: 'deprovisioned', pushedVersion: resource?.version ?? link.pushedVersion, lastError: null, attempts: 0 });
      return 'left';
    }
    // upsert, disable (User) or none-on-deactivate: all converge the mapped state.
    const memberRefs = type === 'Group' ? (await this.resources.membersOf([resource!.id])).get(resource!.id) ?? [] : undefined;
    const mapped = await mapResource({ id: resource!.id, resourceType: type, doc: memberRefs ? { ...resource!.doc, members: memberRefs } : resource!.doc }, target);
    const payload = mapped.payload;
    const prev = link.pushedState ?? undefined;
    if (type === 'User') {
      if (step === 'disable') payload.active = false;
      else if (step === 'none') payload.active = (prev?.active as boolean | undefined) ?? true;
      else if (resource!.deletedAt === null && resource!.active) payload.active = true;
    }
    const hash = hashMapped(payload);
    let remoteId = link.remoteId;
    let outcome: PushOutcome = 'unchanged';
    let base = prev;
    if (!remoteId) {
      current.action = 'link';
      const found = await this.match(client, type, payload);
      if (found) {
        remoteId = found;
        base = undefined; // unknown remote state: send every mapped attribute
        outcome = 'linked';
        await log('link', {});
      } else {
        const created = await this.create(client, type, createPayloadOf(mapped, payload), log, current);
        remoteId = created.remoteId;
        base = created.linked ? undefined : payload;
        outcome = created.linked ? 'linked' : 'created';
      }
    }
    if (data.mode === 'force' || link.pushedHash !== hash || base !== prev) {
      const ops = data.mode === 'force' ? diffMapped(undefined, payload) : diffMapped(base, payload);
      if (ops.length) {
        current.action = step === 'disable' ? 'disable' : 'update';
        const r = await client.patch(type, remoteId, ops);
        if (r.status === 404) {
          // The account was removed at the target: re-create once.
          const created = await this.create(client, type, payload, log, current);
          remoteId = created.remoteId;
          if (created.linked) await client.patch(type, remoteId, diffMapped(undefined, payload)).then(x => log('update', x));
          if (type === 'Group') await this.links.clearShadow(target.id, link.resourceId);
          outcome = 'created';
        } else {
          await log(step === 'disable' && prev?.active !== false ? 'disable' : 'update', r);
          if (outcome === 'unchanged') outcome = step === 'disable' && prev?.active !== false ? 'disabled' : 'updated';
        }
      }
    } else {
      await log('skip', {});
    }
    const firstSync = link.status !== 'synced' || !link.remoteId;
    await this.links.update(target.id, link.resourceId, {
      status: 'synced', remoteId, pushedVersion: resource!.version, pushedHash: hash, pushedState: payload,
      remoteActive: type === 'User' ? payload.active !== false : null, lastError: null, attempts: 0, syncedAt: new Date().toISOString(),
    });
    current.action = 'members';
    if (type === 'Group') await this.members.push(target, client, link.resourceId, remoteId, mapped.members ?? [], log);
    if (type === 'User' && firstSync) await this.enqueueGroupsOf(target, resource!, data.correlationId);
    return outcome;
  }

  /** Finds an existing remote account to link instead of creating (userName / displayName eq). */
  private async match(client: ScimClient, type: ResourceTypeName, payload: ScimObject): Promise<string | undefined> {
    const attr = type === 'User' ? 'userName' : 'displayName';
    const value = payload[attr];
    if (typeof value !== 'string') return undefined;
    const r = await client.findOne(type, `${attr} eq ${JSON.stringify(value)}`);
    if (r.body.length > 1) {
      throw new TargetError(TargetErrorKind.Permanent, { detail: `ambiguous match: ${r.body.length} ${type} accounts have this ${attr}` });
    }
    const id = r.body[0]?.id;
    return typeof id === 'string' ? id : undefined;
  }

  /** POST; a 409 uniqueness means it exists already: find it and link (RFC 7644 §3.3). */
  private async create(
    client: ScimClient, type: ResourceTypeName, payload: ScimObject, log: (a: PushAction, r: { status?: number; durationMs?: number }) => Promise<void>,
    current: { action: PushAction },
  ): Promise<{ remoteId: string; linked: boolean }> {
    let r: ScimResponse<ScimObject | undefined>;
    current.action = 'create';
    try {
      r = await client.create(type, payload);
    } catch (e) {
      if (e instanceof TargetError && e.status === 409) {
        const found = await this.match(client, type, payload);
        if (found) { await log('link', { status: 409, durationMs: e.durationMs }); return { remoteId: found, linked: true }; }
      }
      throw e;
    }
    const id = r.body?.id;
    if (typeof id !== 'string') throw new TargetError(TargetErrorKind.Permanent, { status: r.status, detail: 'create returned no id' });
    await log('create', r);
    return { remoteId: id, linked: false };
  }

  /** A user just became synced at this target: its groups can now send it as a member. */
  private async enqueueGroupsOf(target: TargetConfig, user: StoredResource, correlationId: string): Promise<void> {
    if (!target.resourceTypes.includes('Group')) return;
    const groups = (await this.resources.groupsOf([user.id])).get(user.id) ?? [];
    for (const g of groups) {
      const link = await this.links.get(target.id, g.value);
      if (!link) continue;
      await this.jobs.enqueuePush(
        { targetId: target.id, resourceType: 'Group', resourceId: g.value, version: 0, mode: 'live', correlationId },
        { kind: 'follow-up', reason: 'member', n: `${user.id.slice(0, 8)}${Date.now().toString(36)}` },
      );
    }
  }

  /** Drops a tombstone once every link is deprovisioned (DESIGN.md, Store). */
  private async maybePurge(resourceId: string): Promise<void> {
    const links = await this.links.linksOf(resourceId);
    if (links.every(l => l.status === 'deprovisioned')) {
      for (const l of links) await this.links.deleteLink(l.targetId, resourceId);
      await this.resources.purgeTombstone(resourceId);
      this.log.debug(`Purged tombstone ${resourceId}`);
    }
  }

  private target(id: string): TargetConfig {
    const t = this.config.targets.find(x => x.id === id);
    if (!t) throw new TargetError(TargetErrorKind.Permanent, { detail: `target ${id} is not configured` });
    return t;
  }
}
