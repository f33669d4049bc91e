import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { getCI, isObject, Json, keyCI } from '../../common/json.util.js';
import { DbService } from '../../db/db.service.js';
import { ResourceAttrEntity } from '../../identity/resource-attr.entity.js';
import { ENTERPRISE_USER_SCHEMA, ResourceTypeName } from '../../scim/scim.constants.js';
import { PushTrace } from '../push-trace.js';
import { TargetLinkEntity } from '../target-link.entity.js';

/** The reference attribute translated per target (RFC 7643 §4.3: `manager.value` is the manager's `id`). */
export const MANAGER_VALUE_PATH = `${ENTERPRISE_USER_SCHEMA}:manager.value`;
/** `resource_attr.path` of manager.value (paths are stored lower-cased). */
const MANAGER_ATTR_PATH = MANAGER_VALUE_PATH.toLowerCase();

/** A reference the push could not translate yet: the referenced resource is not synced at the target. */
export interface UnresolvedReference { attribute: string; resourceType: ResourceTypeName; canonicalId: string }

/**
 * Resolves canonical ids to a target's remote ids through the link table: the `resolveReference` hook
 * the mapping engine calls. Only `synced` links count — a link still `pending` has no account to point at.
 */
export class LinkReferenceResolver {
  readonly unresolved: UnresolvedReference[] = [];

  constructor(private readonly db: DbService, private readonly targetId: string, private readonly trace: PushTrace) {}

  async resolveReference(resourceType: ResourceTypeName, canonicalId: string, attribute = MANAGER_VALUE_PATH): Promise<string | undefined> {
    const link = await this.db.manager.findOneBy(TargetLinkEntity, { targetId: this.targetId, resourceId: canonicalId });
    const remoteId = link?.status === 'synced' && link.remoteId ? link.remoteId : undefined;
    if (!remoteId) this.unresolved.push({ attribute, resourceType, canonicalId });
    this.trace.add({ kind: 'reference', attribute, canonicalId, remoteId, resolved: !!remoteId });
    return remoteId;
  }
}

/**
 * Translates `manager.value` of a mapped User payload from the canonical id to the manager's id at the
 * target, in place, for callers that map without the mapping's `resolveReference` hook (previews).
 * The reference goes as `{ value }` only: `$ref` would point at Switchboard and `displayName` is
 * readOnly (RFC 7643 §4.3). A manager not synced there is omitted, and an emptied extension leaves
 * `schemas` too. The push engine passes the resolver to mapResource instead.
 */
export async function translateManager(payload: Json, resolver: Pick<LinkReferenceResolver, 'resolveReference'>): Promise<void> {
  const extKey = keyCI(payload, ENTERPRISE_USER_SCHEMA);
  const ext = extKey ? payload[extKey] : undefined;
  if (!extKey || !isObject(ext)) return;
  const mgrKey = keyCI(ext, 'manager');
  if (!mgrKey) return;
  const manager = ext[mgrKey];
  const canonicalId = isObject(manager) ? getCI(manager, 'value') : undefined;
  const remoteId = typeof canonicalId === 'string' && canonicalId ? await resolver.resolveReference('User', canonicalId) : undefined;
  if (remoteId) {
    ext[mgrKey] = { value: remoteId };
    return;
  }
  delete ext[mgrKey];
  if (Object.keys(ext).length === 0) {
    delete payload[extKey];
    if (Array.isArray(payload.schemas)) payload.schemas = payload.schemas.filter(s => typeof s !== 'string' || s.toLowerCase() !== ENTERPRISE_USER_SCHEMA.toLowerCase());
  }
}

/** Finds the users that reference a manager, so they can be re-pushed once the manager exists at a target. */
@Injectable()
export class ReportsFinder {
  constructor(private readonly db: DbService) {}

  /**
   * Canonical ids of the direct reports of `managerId` (users whose `manager.value` is it, from
   * `resource_attr`) that have a live link (`synced` or `pending`) at `targetId`.
   */
  async reportsAt(targetId: string, managerId: string): Promise<string[]> {
    const rows = await this.db.manager.find(ResourceAttrEntity, {
      select: { resourceId: true },
      where: { resourceType: 'User', path: MANAGER_ATTR_PATH, value: In([managerId, managerId.toLowerCase()]) },
    });
    const ids = [...new Set(rows.map(r => r.resourceId))].filter(id => id !== managerId);
    const out: string[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const links = await this.db.manager.find(TargetLinkEntity, { select: { resourceId: true }, where: { targetId, resourceId: In(ids.slice(i, i + 500)), status: In(['synced', 'pending']) } });
      out.push(...links.map(l => l.resourceId));
    }
    return out;
  }
}
