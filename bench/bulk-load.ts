/**
 * Fills a store with benchmark users fast: the same rows the write path writes (scim_resource as
 * ResourceService stores it, `resourceIndexRows` for resource_attr), in transactions of 500 users and
 * without outbox rows, so 100,000 users load in a minute or two instead of the write path's
 * one-transaction-per-user rate on a shared machine. The write path's own rate is what
 * post-users.bench.ts measures.
 */
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { DbService } from '../src/db/db.service.js';
import { newId } from '../src/common/ids.js';
import { nowIso } from '../src/common/clock.js';
import { resourceIndexRows } from '../src/identity/attr-index.js';
import { GroupMemberEntity } from '../src/identity/group-member.entity.js';
import { ResourceAttrEntity } from '../src/identity/resource-attr.entity.js';
import { ScimResourceEntity } from '../src/identity/scim-resource.entity.js';
import { normaliseString } from '../src/scim/filter/normalise.util.js';
import { IndexSchemas } from '../src/scim/query/index-schema.js';
import { SchemaRegistry } from '../src/scim/schema/schema-registry.js';
import { benchUser } from './bench-util.js';

/** Inserts users from…n-1 (`benchUser`); returns their ids in order. */
export async function bulkLoadUsers(store: DbService, n: number, progress: (done: number) => void = () => undefined, from = 0): Promise<string[]> {
  const normaliser = new IndexSchemas(new SchemaRegistry()).normaliser;
  const ids: string[] = [];
  for (let start = from; start < n; start += 500) {
    await store.transaction(async em => {
      const resources: ScimResourceEntity[] = [];
      const attrs: Array<Partial<ResourceAttrEntity>> = [];
      for (let i = start; i < Math.min(n, start + 500); i++) {
        const doc = benchUser(i);
        const now = nowIso();
        const row = em.create(ScimResourceEntity, {
          id: newId(), resourceType: 'User', version: 1, created: now, lastModified: now, deletedAt: null,
          externalId: doc.externalId as string, name: doc.userName as string, uniqueKey: normaliseString(doc.userName as string, false), active: doc.active !== false, doc,
        });
        resources.push(row);
        ids.push(row.id);
        for (const r of resourceIndexRows(row, normaliser)) {
          attrs.push({ resourceId: row.id, resourceType: 'User', path: r.path, value: r.value, valueFull: r.full ?? null, element: r.element });
        }
      }
      for (let i = 0; i < resources.length; i += 100) await em.insert(ScimResourceEntity, resources.slice(i, i + 100) as QueryDeepPartialEntity<ScimResourceEntity>[]);
      for (let i = 0; i < attrs.length; i += 500) await em.insert(ResourceAttrEntity, attrs.slice(i, i + 500));
    });
    progress(Math.min(n, start + 500));
  }
  return ids;
}

/**
 * Makes every id a member of `groupId` (group_member rows, as the write path stores them). Creating a
 * 100,000-member group through the write path is not what the benchmark measures.
 */
export async function bulkAddMembers(store: DbService, groupId: string, ids: string[]): Promise<void> {
  await store.transaction(em => em.delete(GroupMemberEntity, { groupId }));
  for (let start = 0; start < ids.length; start += 5000) {
    await store.transaction(async em => {
      const rows = ids.slice(start, start + 5000).map(memberId => ({ groupId, memberId, memberType: 'User' }));
      for (let i = 0; i < rows.length; i += 500) await em.insert(GroupMemberEntity, rows.slice(i, i + 500));
    });
  }
}
