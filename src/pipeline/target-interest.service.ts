import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { TargetConfig } from '../config/app-config.js';
import { DbService } from '../db/db.service.js';
import { ResourceService } from '../identity/resource.service.js';
import { StoredResource } from '../identity/resource.types.js';
import { ScimResourceEntity } from '../identity/scim-resource.entity.js';
import { targetScope, UserGroups } from '../targets/target-rules.js';

/**
 * Which live resources a target wants but has no link for yet — the one rule shared by fan-out, group-based
 * assignment, the reconcile sweep and backfills: the target handles the type; a user is active (or
 * deactivation means disable there: it is created disabled) and inside `scope` (read with its groups
 * when the scope references `groups.*`); a group is selected by `groups: all | none | { filter }`.
 */
@Injectable()
export class TargetInterest {
  constructor(private readonly db: DbService, private readonly resources: ResourceService) {}

  /** Resources (live or tombstoned) by id, in one query per 500. */
  async load(ids: string[]): Promise<StoredResource[]> {
    const out: StoredResource[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db.manager.findBy(ScimResourceEntity, { id: In(ids.slice(i, i + 500)) });
      for (const r of rows) {
        out.push({
          id: r.id, resourceType: r.resourceType, externalId: r.externalId, version: r.version, active: r.active,
          created: r.created, lastModified: r.lastModified, deletedAt: r.deletedAt, doc: r.doc,
        });
      }
    }
    return out;
  }

  /** Groups of the given users, loaded only when some of `targets` reads them in its scope. */
  async groupsFor(targets: TargetConfig[], resources: StoredResource[]): Promise<Map<string, UserGroups>> {
    const users = resources.filter(r => r.resourceType === 'User').map(r => r.id);
    if (!users.length || !targets.some(t => targetScope(t).referencesGroups)) return new Map();
    const out = new Map<string, UserGroups>();
    for (let i = 0; i < users.length; i += 500) {
      for (const [id, g] of await this.resources.groupsOf(users.slice(i, i + 500))) out.set(id, g);
    }
    return out;
  }

  /** Whether `target` wants a link for this resource (see the class comment). */
  wants(target: TargetConfig, r: StoredResource, groups: Map<string, UserGroups>): boolean {
    if (r.deletedAt || !target.resourceTypes.includes(r.resourceType)) return false;
    const scope = targetScope(target);
    if (r.resourceType === 'Group') return scope.groupSelected(r);
    if (!r.active && target.deprovision.onDeactivate !== 'disable') return false;
    return scope.inScope(r, groups.get(r.id) ?? []);
  }
}
