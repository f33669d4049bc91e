import { Injectable } from '@nestjs/common';
import { TargetConfig } from '../config/app-config.js';
import { Json } from '../common/json.util.js';
import { PushAction } from './push-log.entity.js';
import { PushTrace } from './push-trace.js';
import { PatchOperation, ScimObject, ScimResponse } from './scim-client.js';
import { TargetLinkService } from './target-link.service.js';

/** Default members per PATCH request (`profile.membershipChunkSize`): large groups go as several small deltas. */
export const MEMBER_CHUNK = 100;

/** The calls the membership pusher makes (a TracedClient in production). */
export interface MembershipClient {
  patch(type: 'Group', id: string, ops: PatchOperation[]): Promise<ScimResponse<ScimObject | undefined>>;
  replace(type: 'Group', id: string, body: ScimObject): Promise<ScimResponse<ScimObject | undefined>>;
}

type Log = (a: PushAction, r: { status?: number; durationMs?: number }) => Promise<void>;

/**
 * Pushes a group's membership to a target against the shadow of what was last pushed
 * (`target_group_member`). Only members already synced at the target are sent (a group never waits on
 * members that may never be provisioned); when one becomes synced, its groups are re-pushed.
 *
 * - `profile.groupMembershipVia: patch` (default): add/remove deltas (RFC 7644 §3.5.2.1, §3.5.2.2), at
 *   most `profile.membershipChunkSize` members per request — never the full list.
 * - `put` (PUT-only apps): the group's mapped attributes plus the FULL member list in one PUT (§3.5.1),
 *   sent only when the attributes or the member set changed (or when `force`d).
 */
@Injectable()
export class GroupMembershipPusher {
  constructor(private readonly links: TargetLinkService) {}

  /** Delta PATCHes, chunked. Returns what was sent. */
  async push(
    target: TargetConfig, client: MembershipClient, groupId: string, remoteGroupId: string, memberIds: string[], log: Log, trace?: PushTrace,
  ): Promise<{ added: number; removed: number; requests: number }> {
    const chunk = target.profile?.membershipChunkSize ?? MEMBER_CHUNK;
    const remote = await this.links.remoteIds(target.id, memberIds);
    const desired = new Set(memberIds.filter(id => remote.has(id)));
    const shadow = await this.links.shadowMembers(target.id, groupId);
    const add = [...desired].filter(id => !shadow.has(id));
    const remove = [...shadow].filter(id => !desired.has(id));
    // Removed members may no longer be synced; their last known remote id is still on the link.
    const removedRemote = await this.remoteIdsAnyStatus(target.id, remove);
    let requests = 0;
    for (let i = 0; i < add.length; i += chunk) {
      const part = add.slice(i, i + chunk);
      const ops: PatchOperation[] = [{ op: 'add', path: 'members', value: part.map(id => ({ value: remote.get(id) })) }];
      const r = await client.patch('Group', remoteGroupId, ops);
      requests++;
      await log('members', r);
      await this.links.applyShadowDelta(target.id, groupId, part, []);
    }
    for (let i = 0; i < remove.length; i += chunk) {
      const part = remove.slice(i, i + chunk);
      const ops: PatchOperation[] = part.filter(id => removedRemote.has(id))
        .map(id => ({ op: 'remove' as const, path: `members[value eq ${JSON.stringify(removedRemote.get(id))}]` }));
      if (ops.length) {
        const r = await client.patch('Group', remoteGroupId, ops);
        requests++;
        await log('members', r);
      }
      await this.links.applyShadowDelta(target.id, groupId, [], part);
    }
    if (add.length || remove.length) trace?.add({ kind: 'members', added: add.length, removed: remove.length, requests, via: 'patch' });
    return { added: add.length, removed: remove.length, requests };
  }

  /**
   * PUT-only targets: one PUT of `payload` (the group's mapped attributes) with the full member list,
   * when `attributesChanged`, the member set differs from the shadow, or `force`. Returns the response
   * (404 means the group is gone; the caller re-creates), or undefined when nothing was sent.
   */
  async putFull(
    target: TargetConfig, client: MembershipClient, groupId: string, remoteGroupId: string, memberIds: string[], payload: Json,
    attributesChanged: boolean, log: Log, trace?: PushTrace,
  ): Promise<ScimResponse<ScimObject | undefined> | undefined> {
    const remote = await this.links.remoteIds(target.id, memberIds);
    const desired = memberIds.filter(id => remote.has(id));
    const shadow = await this.links.shadowMembers(target.id, groupId);
    const wanted = new Set(desired);
    const add = desired.filter(id => !shadow.has(id));
    const remove = [...shadow].filter(id => !wanted.has(id));
    if (!attributesChanged && !add.length && !remove.length) return undefined;
    const body: ScimObject = { ...payload, members: desired.map(id => ({ value: remote.get(id) })) };
    const r = await client.replace('Group', remoteGroupId, body);
    if (r.status === 404) return r;
    await log(add.length || remove.length ? 'members' : 'update', r);
    await this.links.applyShadowDelta(target.id, groupId, add, remove);
    trace?.add({ kind: 'members', added: add.length, removed: remove.length, requests: 1, via: 'put' });
    return r;
  }

  private async remoteIdsAnyStatus(targetId: string, ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const id of ids) {
      const l = await this.links.get(targetId, id);
      if (l?.remoteId) out.set(id, l.remoteId);
    }
    return out;
  }
}
