import { Injectable } from '@nestjs/common';
import { In, Not } from 'typeorm';
import type { TargetConfig } from '../../config/app-config.js';
import type { DeprovisionAction } from '../../config/file-config.dto.js';
import { resolveProfile } from '../../config/profile-config.dto.js';
import { Json, isObject } from '../../common/json.util.js';
import { DbService } from '../../db/db.service.js';
import { ResourceService } from '../../identity/resource.service.js';
import { StoredResource } from '../../identity/resource.types.js';
import { diffMapped, hashMapped } from '../../mapping/diff.js';
import { createPayloadOf, MappedResource, mapResource } from '../../mapping/map-resource.js';
import { rulesFor } from '../../mapping/target-rules.js';
import { JobQueueService } from '../../pipeline/job-queue.service.js';
import { PushJobData } from '../../pipeline/job.types.js';
import { ResourceTypeName } from '../../scim/scim.constants.js';
import { GroupMembershipPusher } from '../group-membership.pusher.js';
import { PushAction } from '../push-log.entity.js';
import { PushTrace } from '../push-trace.js';
import { PatchOperation, ScimObject, ScimResponse } from '../scim-client.js';
import { TargetClients } from '../target-clients.service.js';
import { TargetError, TargetErrorKind } from '../target.error.js';
import { TargetLinkEntity } from '../target-link.entity.js';
import { TargetLinkService } from '../target-link.service.js';
import { findRemoteMatch } from './matching.js';
import { projectRemote } from './read-back.js';
import { LinkReferenceResolver, ReportsFinder } from './references.js';
import { TracedClient } from './traced-client.js';

/** How one push ended; failures are thrown as TargetError instead. */
export type EngineOutcome = 'created' | 'linked' | 'updated' | 'unchanged' | 'disabled' | 'deleted' | 'left';

/** Writes one push-log row. */
export type PushLogFn = (a: PushAction, r: { status?: number; durationMs?: number }, ok?: boolean, err?: string) => Promise<void>;

/** What the push processor decided and hands to the engine. */
export interface EngineInput {
  target: TargetConfig;
  data: PushJobData;
  resource: StoredResource | undefined;
  link: TargetLinkEntity;
  step: 'upsert' | DeprovisionAction;
  log: PushLogFn;
  /** Which call is under way, so a failure is logged with the action that failed. */
  current: { action: PushAction };
  trace: PushTrace;
}

/**
 * The push engine: converges one resource at one target once the processor has decided WHAT the target
 * should hold (upsert, disable, delete, leave). Map (references translated through the link table) →
 * link an existing account (matching) or create → diff against the diff base → PATCH, or PUT for
 * PUT-only targets → group membership → follow-ups (the user's groups, the manager's reports).
 *
 * Diff base by mode (`PushJobData.mode`): `live` — the last pushed state, and an unchanged hash sends
 * nothing; `force` — nothing (every mapped attribute is sent); `readBack` — the remote account as GET
 * returns it, projected on the mapped attributes (repairs edits made in the app; 404 → re-create).
 */
@Injectable()
export class PushEngine {
  constructor(
    private readonly db: DbService,
    private readonly resources: ResourceService,
    private readonly links: TargetLinkService,
    private readonly clients: TargetClients,
    private readonly jobs: JobQueueService,
    private readonly members: GroupMembershipPusher,
    private readonly reports: ReportsFinder,
  ) {}

  async run(input: EngineInput): Promise<EngineOutcome> {
    const { target, data, resource, link, step, log, current, trace } = input;
    const client = new TracedClient(this.clients.get(target.id), trace);
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
    return this.converge(input, client, resource!);
  }

  /** upsert, disable (User) or none-on-deactivate: all converge the mapped state. */
  private async converge(input: EngineInput, client: TracedClient, resource: StoredResource): Promise<EngineOutcome> {
    const { target, data, link, step, log, current, trace } = input;
    const type = data.resourceType;
    const profile = target.profile ?? resolveProfile(undefined);
    const mapped = await this.mapped(target, resource, trace);
    const { payload, members } = mapped;
    const intent = rulesFor(target).intent(type);
    const prev = link.pushedState ?? undefined;
    if (type === 'User') {
      if (step === 'disable') payload.active = false;
      else if (step === 'none') payload.active = (prev?.active as boolean | undefined) ?? true;
      else if (resource.deletedAt === null && resource.active) payload.active = true;
    }
    trace.add({ kind: 'map', payload });
    const hash = hashMapped(payload);
    let remoteId = link.remoteId;
    let outcome: EngineOutcome = 'unchanged';
    let base: Json | undefined = prev;
    let baseKind: 'lastPushed' | 'none' | 'remote' = 'lastPushed';
    let shadowReset = false;

    if (remoteId && data.mode === 'readBack') {
      const r = await client.get(type, remoteId);
      if (r.status === 404) {
        trace.add({ kind: 'note', message: 'readBack: the remote account is gone; re-creating' });
        remoteId = null;
        if (type === 'Group') await this.links.clearShadow(target.id, link.resourceId);
      } else {
        base = projectRemote(r.body ?? {}, payload, prev);
        baseKind = 'remote';
        if (type === 'Group') shadowReset = await this.resetShadowFromRemote(target.id, link.resourceId, r.body ?? {});
      }
    }
    if (!remoteId) {
      current.action = 'link';
      const found = await findRemoteMatch(client, target, type, payload, trace, this.linkedElsewhere(target.id, link.resourceId));
      if (found) {
        remoteId = found;
        base = undefined; // unknown remote state: send every mapped attribute
        baseKind = 'none';
        outcome = 'linked';
        await log('link', {});
      } else {
        const created = await this.create(client, target, type, createPayloadOf(mapped, payload), log, current, trace, link.resourceId);
        remoteId = created.remoteId;
        base = created.linked ? undefined : payload;
        baseKind = created.linked ? 'none' : 'lastPushed';
        outcome = created.linked ? 'linked' : 'created';
      }
    } else if (data.mode === 'force') {
      base = undefined;
      baseKind = 'none';
    }

    const changed = data.mode !== 'live' || link.pushedHash !== hash || base !== prev;
    const putGroup = type === 'Group' && profile.groupMembershipVia === 'put';
    // A first PATCH after linking also sends the `applyOn: create` attributes (mapping's createPayloadOf).
    const ops = !changed ? [] : baseKind === 'none' && outcome === 'linked' ? diffMapped(undefined, createPayloadOf(mapped, payload), intent) : diffMapped(base, payload, intent);
    const via = ops.length === 0 && !putGroup ? 'none' : profile.putOnly || putGroup ? 'put' : 'patch';
    trace.add({ kind: 'diff', base: baseKind, operations: ops, via });
    if (!changed) await log('skip', {});

    const disabling = step === 'disable' && prev?.active !== false;
    if (putGroup) {
      // Attributes and the full member list go together: a PUT without members would empty the group.
      current.action = 'members';
      let r = await this.members.putFull(target, client, link.resourceId, remoteId, members ?? [], createPayloadOf(mapped, payload), ops.length > 0 || shadowReset, log, trace);
      if (r?.status === 404) {
        remoteId = await this.recreate(client, target, type, mapped, payload, log, current, trace, link.resourceId, false);
        r = await this.members.putFull(target, client, link.resourceId, remoteId, members ?? [], createPayloadOf(mapped, payload), false, log, trace);
        outcome = 'created';
      } else if (r && ops.length && outcome === 'unchanged') outcome = 'updated';
    } else if (ops.length) {
      current.action = disabling ? 'disable' : 'update';
      // PUT replaces the whole account (RFC 7644 §3.5.1): the `applyOn: create` attributes go along, or they would be wiped.
      const r = profile.putOnly ? await client.replace(type, remoteId, createPayloadOf(mapped, payload)) : await client.patch(type, remoteId, ops);
      if (r.status === 404) {
        // The account was removed at the target: re-create once.
        remoteId = await this.recreate(client, target, type, mapped, payload, log, current, trace, link.resourceId, profile.putOnly);
        outcome = 'created';
      } else {
        await log(disabling ? 'disable' : 'update', r);
        if (outcome === 'unchanged') outcome = disabling ? 'disabled' : 'updated';
      }
    }

    const firstSync = link.status !== 'synced' || !link.remoteId || link.remoteId !== remoteId;
    // The short-circuit also spares the link write when nothing at all changed (a live resync of a synced user).
    const untouched = !changed && !firstSync && outcome === 'unchanged' && link.pushedVersion === resource.version;
    if (!untouched) await this.links.update(target.id, link.resourceId, {
      status: 'synced', remoteId, pushedVersion: resource.version, pushedHash: hash, pushedState: payload,
      remoteActive: type === 'User' ? payload.active !== false : null, lastError: null, attempts: 0, syncedAt: new Date().toISOString(),
    });
    current.action = 'members';
    if (type === 'Group' && !putGroup) await this.members.push(target, client, link.resourceId, remoteId, members ?? [], log, trace);
    if (type === 'User' && firstSync) {
      await this.enqueueGroupsOf(target, resource, data.correlationId);
      await this.enqueueReportsOf(target, resource.id, data.correlationId, trace);
    }
    return outcome;
  }

  /**
   * The mapped state, with `manager.value` translated to the manager's id at this target through the
   * link table (mapping's `resolveReference` hook); an untranslatable reference is left out for now.
   */
  private async mapped(target: TargetConfig, resource: StoredResource, trace: PushTrace): Promise<MappedResource> {
    const type = resource.resourceType;
    const memberRefs = type === 'Group' ? (await this.resources.membersOf([resource.id])).get(resource.id) ?? [] : undefined;
    const resolver = new LinkReferenceResolver(this.db, target.id, trace);
    // Expressions may read the user's groups (`$groups`); load them only when an expression exists.
    const groups = type === 'User' && rulesFor(target).mappings.some(m => m.expression)
      ? (await this.resources.groupsOf([resource.id])).get(resource.id) ?? [] : undefined;
    return mapResource(
      { id: resource.id, resourceType: type, created: resource.created, lastModified: resource.lastModified, doc: memberRefs ? { ...resource.doc, members: memberRefs } : resource.doc },
      target, { resolveReference: (t, id) => resolver.resolveReference(t, id), groups },
    );
  }

  /** Whether a remote account is already the live link of another resource at this target. */
  private linkedElsewhere(targetId: string, resourceId: string): (remoteId: string) => Promise<boolean> {
    return async remoteId => (await this.db.manager.count(TargetLinkEntity, {
      where: { targetId, remoteId, resourceId: Not(resourceId), status: In(['synced', 'pending', 'failed', 'out_of_scope']) },
    })) > 0;
  }

  /** POST; a 409 uniqueness means it exists already: find it through matching and link (RFC 7644 §3.3). */
  private async create(
    client: TracedClient, target: TargetConfig, type: ResourceTypeName, payload: Json, log: PushLogFn, current: { action: PushAction }, trace: PushTrace,
    resourceId: string,
  ): Promise<{ remoteId: string; linked: boolean }> {
    let r: ScimResponse<ScimObject | undefined>;
    current.action = 'create';
    try {
      r = await client.create(type, payload);
    } catch (e) {
      if (e instanceof TargetError && e.status === 409) {
        trace.add({ kind: 'note', message: 'create answered 409: matching again' });
        const found = await findRemoteMatch(client, target, type, payload, trace, this.linkedElsewhere(target.id, resourceId));
        if (found) { await log('link', { status: 409, durationMs: e.durationMs }); return { remoteId: found, linked: true }; }
      }
      throw e;
    }
    const id = r.body?.id;
    if (typeof id !== 'string') throw new TargetError(TargetErrorKind.Permanent, { status: r.status, detail: 'create returned no id' });
    await log('create', r);
    return { remoteId: id, linked: false };
  }

  /** The remote account vanished (404 on update): create it again; if that links to another one, send the whole state. */
  private async recreate(
    client: TracedClient, target: TargetConfig, type: ResourceTypeName, mapped: MappedResource, payload: Json, log: PushLogFn,
    current: { action: PushAction }, trace: PushTrace, resourceId: string, putOnly: boolean,
  ): Promise<string> {
    trace.add({ kind: 'note', message: 'the remote account is gone (404): re-creating' });
    if (type === 'Group') await this.links.clearShadow(target.id, resourceId);
    const body = createPayloadOf(mapped, payload);
    const created = await this.create(client, target, type, body, log, current, trace, resourceId);
    if (created.linked) {
      const full: PatchOperation[] = diffMapped(undefined, body);
      const r = putOnly ? await client.replace(type, created.remoteId, body) : await client.patch(type, created.remoteId, full);
      await log('update', r);
    }
    return created.remoteId;
  }

  /**
   * readBack of a group: the shadow becomes what the target really holds (its members mapped back to
   * canonical ids through the links), so the membership push repairs edits made in the app.
   * Returns true when the shadow changed.
   */
  private async resetShadowFromRemote(targetId: string, groupId: string, remote: Json): Promise<boolean> {
    const remoteMembers = Array.isArray(remote.members) ? remote.members : [];
    const remoteIds = remoteMembers.map(m => (isObject(m) ? m.value : undefined)).filter((v): v is string => typeof v === 'string');
    const canonical = new Set<string>();
    for (let i = 0; i < remoteIds.length; i += 500) {
      const rows = await this.db.manager.find(TargetLinkEntity, { select: { resourceId: true }, where: { targetId, remoteId: In(remoteIds.slice(i, i + 500)) } });
      for (const r of rows) canonical.add(r.resourceId);
    }
    const shadow = await this.links.shadowMembers(targetId, groupId);
    const add = [...canonical].filter(id => !shadow.has(id));
    const remove = [...shadow].filter(id => !canonical.has(id));
    if (!add.length && !remove.length) return false;
    await this.links.applyShadowDelta(targetId, groupId, add, remove);
    return true;
  }

  /** A user just became synced at this target: its groups can now send it as a member. */
  private async enqueueGroupsOf(target: TargetConfig, user: StoredResource, correlationId: string): Promise<void> {
    if (!target.resourceTypes.includes('Group')) return;
    const groups = (await this.resources.groupsOf([user.id])).get(user.id) ?? [];
    const n = `${user.id.slice(0, 8)}${Date.now().toString(36)}`;
    const items: Parameters<JobQueueService['enqueuePushes']>[1] = [];
    for (const g of groups) {
      if (!(await this.links.get(target.id, g.value))) continue;
      items.push({ data: { targetId: target.id, resourceType: 'Group', resourceId: g.value, version: 0, mode: 'live', correlationId }, trigger: { kind: 'follow-up', reason: 'member', n } });
    }
    await this.jobs.enqueuePushes(target.id, items);
  }

  /**
   * A user just became synced (or got a new remote id) at this target: its direct reports can now carry
   * the manager reference there (level-triggered: their next push maps the translated `manager.value`).
   */
  private async enqueueReportsOf(target: TargetConfig, managerId: string, correlationId: string, trace: PushTrace): Promise<void> {
    const reports = await this.reports.reportsAt(target.id, managerId);
    if (!reports.length) return;
    const n = `${managerId.slice(0, 8)}${Date.now().toString(36)}`;
    await this.jobs.enqueuePushes(target.id, reports.map(id => ({
      data: { targetId: target.id, resourceType: 'User' as const, resourceId: id, version: 0, mode: 'live' as const, correlationId },
      trigger: { kind: 'follow-up' as const, reason: 'manager', n },
    })));
    trace.add({ kind: 'note', message: `enqueued ${reports.length} direct report(s) for the manager reference` });
  }
}
