import { Injectable } from '@nestjs/common';
import { TargetConfig } from '../config/app-config.js';
import { PushAction } from './push-log.entity.js';
import { PatchOperation, ScimClient } from './scim-client.js';
import { TargetLinkService } from './target-link.service.js';

/** Members per PATCH request: large groups go as several small deltas, never as one full list. */
export const MEMBER_CHUNK = 100;

/**
 * Pushes a group's membership to a target as add/remove deltas against the shadow of what was last
 * pushed (`target_group_member`). Only members already synced at the target are sent (a group never
 * waits on members that may never be provisioned); when one becomes synced, its groups are re-pushed.
 */
@Injectable()
export class GroupMembershipPusher {
  constructor(private readonly links: TargetLinkService) {}

  async push(
    target: TargetConfig, client: ScimClient, groupId: string, remoteGroupId: string, memberIds: string[],
    log: (a: PushAction, r: { status?: number; durationMs?: number }) => Promise<void>,
  ): Promise<{ added: number; removed: number }> {
    const remote = await this.links.remoteIds(target.id, memberIds);
    const desired = new Set(memberIds.filter(id => remote.has(id)));
    const shadow = await this.links.shadowMembers(target.id, groupId);
    const add = [...desired].filter(id => !shadow.has(id));
    const remove = [...shadow].filter(id => !desired.has(id));
    // Removed members may no longer be synced; their last known remote id is still on the link.
    const removedRemote = await this.remoteIdsAnyStatus(target.id, remove);
    for (let i = 0; i < add.length; i += MEMBER_CHUNK) {
      const chunk = add.slice(i, i + MEMBER_CHUNK);
      const ops: PatchOperation[] = [{ op: 'add', path: 'members', value: chunk.map(id => ({ value: remote.get(id) })) }];
      const r = await client.patch('Group', remoteGroupId, ops);
      await log('members', r);
      await this.links.applyShadowDelta(target.id, groupId, chunk, []);
    }
    for (let i = 0; i < remove.length; i += MEMBER_CHUNK) {
      const chunk = remove.slice(i, i + MEMBER_CHUNK);
      const ops: PatchOperation[] = chunk.filter(id => removedRemote.has(id))
        .map(id => ({ op: 'remove' as const, path: `members[value eq ${JSON.stringify(removedRemote.get(id))}]` }));
      if (ops.length) {
        const r = await client.patch('Group', remoteGroupId, ops);
        await log('members', r);
      }
      await this.links.applyShadowDelta(target.id, groupId, [], chunk);
    }
    return { added: add.length, removed: remove.length };
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
