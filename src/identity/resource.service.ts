import { Injectable, Optional } from '@nestjs/common';
import { EntityManager, In, IsNull, Not } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { nowIso } from '../common/clock.js';
import { newId } from '../common/ids.js';
import { DbService } from '../db/db.service.js';
import { ResourceTypeName } from '../scim/scim.constants.js';
import { ScimError } from '../scim/scim.error.js';
import { normaliseString } from '../scim/filter/normalise.util.js';
import { IndexSchemas } from '../scim/query/index-schema.js';
import { SchemaRegistry } from '../scim/schema/schema-registry.js';
import { AttrNormaliser, resourceIndexRows } from './attr-index.js';
import { canonicalJson } from './canonical-json.util.js';
import { ChangeEventEntity, ChangeKind } from './change-event.entity.js';
import { GroupMemberEntity } from './group-member.entity.js';
import { ResourceAttrEntity } from './resource-attr.entity.js';
import { OwnershipPolicy } from './ownership.js';
import { MemberDelta, StoredResource, WriteContext } from './resource.types.js';
import { ScimResourceEntity } from './scim-resource.entity.js';

/** What a write produced: the resource after it, and whether anything changed (no change → no event). */
export interface WriteResult { resource: StoredResource; changed: boolean }

/** Input to a write: the validated document plus, for Groups, the membership to set or change. */
export interface ResourceWrite {
  doc: Record<string, unknown>;
  /** Full member list (POST/PUT) — replaces membership. */
  members?: Array<{ value: string; type: string }>;
  /** Membership delta (PATCH) — O(1) per member. */
  memberDelta?: MemberDelta;
}

const MAX_VERSION_RETRIES = 5;
/** Length of the name, unique key and externalId columns (varchar(512); PostgreSQL rejects longer values). */
const MAX_KEY_LENGTH = 512;

/**
 * The ONE write path (DESIGN.md principle 4): validate-by-caller → version → write resource, attribute
 * index and membership → outbox row, in one transaction; acknowledged only after commit. SCIM, Bulk,
 * HR events and admin actions all come through here.
 */
@Injectable()
export class ResourceService {
  /**
   * Index normalisation (caseExact, dateTime, numbers) from the configured registry (CoreModule), the one
   * the SQL filter compiler normalises literals with (src/scim/query/index-schema.ts): every role, worker
   * included, indexes custom extension attributes as the api role filters them.
   */
  private readonly normaliser: AttrNormaliser;
  private readonly commitListeners: Array<() => void> = [];

  /** `registry` defaults to the core schemas (read-only uses such as the preview runner). */
  constructor(
    private readonly db: DbService, @Optional() private readonly ownership?: OwnershipPolicy, @Optional() registry?: SchemaRegistry,
  ) {
    this.normaliser = new IndexSchemas(registry ?? new SchemaRegistry()).normaliser;
  }

  /** Called after every commit that wrote an outbox row (the relay's nudge, so it need not wait for its poll). */
  onCommit(fn: () => void): void {
    this.commitListeners.push(fn);
  }

  private committed(): void {
    for (const fn of this.commitListeners) fn();
  }

  /** Creates a resource. Errors: 409 uniqueness (userName, any letter case), 400 invalidValue (unknown member). */
  async create(type: ResourceTypeName, input: ResourceWrite, ctx: WriteContext): Promise<StoredResource> {
    return this.db.transaction(async em => {
      const now = nowIso();
      const row = em.create(ScimResourceEntity, {
        id: newId(), resourceType: type, version: 1, created: now, lastModified: now, deletedAt: null, ...this.columns(type, input.doc),
      });
      await this.assertUnique(em, row);
      await em.insert(ScimResourceEntity, row as QueryDeepPartialEntity<ScimResourceEntity>);
      await this.writeIndex(em, row);
      let touched: string[] = [];
      if (type === 'Group') touched = await this.setMembers(em, row.id, input.members ?? []);
      await this.emit(em, row, 'upsert', ctx, touched);
      return this.toStored(row, type === 'Group' ? input.members ?? [] : undefined);
    }).then(r => { this.committed(); return r; }, e => { throw this.mapDbError(e); });
  }

  /**
   * Replaces (PUT) or patches a resource. `mutate` gets the current resource and returns the write; it
   * runs inside the transaction and is re-run if a concurrent writer bumped the version.
   * Errors: 404, 412 (ifMatch), 409 uniqueness, whatever `mutate` throws.
   */
  async update(
    type: ResourceTypeName, id: string, ctx: WriteContext, mutate: (current: StoredResource) => ResourceWrite | Promise<ResourceWrite>,
    ifMatchVersion?: number,
  ): Promise<WriteResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await this.db.transaction(async em => {
          const row = await this.lockLive(em, type, id);
          if (!row) throw ScimError.notFound(`${type} ${id} not found`);
          if (ifMatchVersion !== undefined && row.version !== ifMatchVersion) {
            throw ScimError.preconditionFailed(`ETag mismatch: ${type} ${id} is at version ${row.version}`);
          }
          const current = this.toStored(row);
          const input = await mutate(current);
          // Source precedence (issue 5): a non-owner's value for an attribute is replaced by the stored one.
          if (type === 'User' && this.ownership?.enabled) input.doc = this.ownership.apply(ctx.origin, current.doc, input.doc);
          const cols = this.columns(type, input.doc);
          const docChanged = canonicalJson(input.doc) !== canonicalJson(row.doc);
          let touched: string[] = [];
          if (type === 'Group' && input.members) touched = await this.setMembers(em, id, input.members);
          else if (type === 'Group' && input.memberDelta) touched = await this.applyMemberDelta(em, id, input.memberDelta);
          if (!docChanged && touched.length === 0) return { resource: current, changed: false };
          const next = { ...row, ...cols, version: row.version + 1, lastModified: nowIso() };
          await this.assertUnique(em, next);
          const res = await em.update(ScimResourceEntity, { id, version: row.version }, {
            ...cols, version: next.version, lastModified: next.lastModified,
          } as QueryDeepPartialEntity<ScimResourceEntity>);
          if (res.affected === 0) throw new VersionConflict();
          // Always: meta.lastModified and meta.version are indexed too, and change with a membership-only write.
          await this.writeIndex(em, next);
          await this.emit(em, next, 'upsert', ctx, touched);
          return { resource: this.toStored(next), changed: true };
        });
        if (result.changed) this.committed();
        return result;
      } catch (e) {
        if (e instanceof VersionConflict && attempt < MAX_VERSION_RETRIES) continue;
        throw this.mapDbError(e);
      }
    }
  }

  /** Deletes: leaves a tombstone (hidden from reads and uniqueness) and emits a `delete` event. 404 when absent. */
  async delete(type: ResourceTypeName, id: string, ctx: WriteContext, ifMatchVersion?: number): Promise<void> {
    await this.db.transaction(async em => {
      const row = await this.lockLive(em, type, id);
      if (!row) throw ScimError.notFound(`${type} ${id} not found`);
      if (ifMatchVersion !== undefined && row.version !== ifMatchVersion) {
        throw ScimError.preconditionFailed(`ETag mismatch: ${type} ${id} is at version ${row.version}`);
      }
      const now = nowIso();
      const version = row.version + 1;
      await em.update(ScimResourceEntity, { id }, { deletedAt: now, lastModified: now, version, uniqueKey: null });
      await em.delete(ResourceAttrEntity, { resourceId: id });
      // A deleted user leaves every group; those groups' members change too.
      const groups = type === 'User' ? await em.findBy(GroupMemberEntity, { memberId: id }) : [];
      if (groups.length) await em.delete(GroupMemberEntity, { memberId: id });
      let touched: string[] = [];
      if (type === 'Group') {
        touched = (await em.findBy(GroupMemberEntity, { groupId: id })).map(m => m.memberId);
        await em.delete(GroupMemberEntity, { groupId: id });
      }
      await this.emit(em, { ...row, version, deletedAt: now }, 'delete', ctx, touched);
      for (const g of groups) {
        const group = await em.findOneBy(ScimResourceEntity, { id: g.groupId, deletedAt: IsNull() });
        if (!group) continue;
        await em.update(ScimResourceEntity, { id: group.id }, { version: group.version + 1, lastModified: now });
        await this.writeIndex(em, { ...group, version: group.version + 1, lastModified: now });
        await this.emit(em, { ...group, version: group.version + 1 }, 'upsert', ctx, [id]);
      }
    });
    this.committed();
  }

  /** A live resource by id, or undefined. */
  async find(type: ResourceTypeName, id: string, withMembers = true): Promise<StoredResource | undefined> {
    const row = await this.db.manager.findOneBy(ScimResourceEntity, { id, resourceType: type, deletedAt: IsNull() });
    if (!row) return undefined;
    const members = type === 'Group' && withMembers ? await this.membersOf([id]) : undefined;
    return this.toStored(row, members?.get(id) ?? (type === 'Group' && withMembers ? [] : undefined));
  }

  /** Any resource by id, tombstones included (the push processor needs to see deletions). */
  async findAny(id: string): Promise<StoredResource | undefined> {
    const row = await this.db.manager.findOneBy(ScimResourceEntity, { id });
    return row ? this.toStored(row) : undefined;
  }

  /** Members of the given groups, keyed by group id. */
  async membersOf(groupIds: string[]): Promise<Map<string, Array<{ value: string; type: string }>>> {
    const out = new Map<string, Array<{ value: string; type: string }>>();
    if (!groupIds.length) return out;
    const rows = await this.db.manager.find(GroupMemberEntity, { where: { groupId: In(groupIds) }, order: { memberId: 'ASC' } });
    for (const r of rows) {
      const list = out.get(r.groupId) ?? [];
      list.push({ value: r.memberId, type: r.memberType });
      out.set(r.groupId, list);
    }
    return out;
  }

  /** Groups each user belongs to (directly), for the User `groups` attribute (RFC 7643 §4.1.2). */
  async groupsOf(userIds: string[]): Promise<Map<string, Array<{ value: string; display: string }>>> {
    const out = new Map<string, Array<{ value: string; display: string }>>();
    if (!userIds.length) return out;
    const rows = await this.db.manager.createQueryBuilder(GroupMemberEntity, 'm')
      .innerJoin(ScimResourceEntity, 'g', 'g.id = m.group_id AND g.deleted_at IS NULL')
      .select(['m.member_id AS member_id', 'g.id AS group_id', 'g.display_key AS display'])
      .where('m.member_id IN (:...ids)', { ids: userIds })
      .orderBy('g.display_key')
      .getRawMany<{ member_id: string; group_id: string; display: string }>();
    for (const r of rows) {
      const list = out.get(r.member_id) ?? [];
      list.push({ value: r.group_id, display: r.display });
      out.set(r.member_id, list);
    }
    return out;
  }

  /** Removes a tombstone for good once every target link is deprovisioned. */
  async purgeTombstone(id: string): Promise<void> {
    await this.db.write(em => em.delete(ScimResourceEntity, { id, deletedAt: Not(IsNull()) }));
  }

  /**
   * The live row, locked for this transaction on PostgreSQL: concurrent writers of one resource (ten
   * PATCHes adding members to a group) queue here instead of failing the version check or colliding on
   * group_member's key. SQLite transactions are already serialised (DbService).
   */
  private lockLive(em: EntityManager, type: ResourceTypeName, id: string): Promise<ScimResourceEntity | null> {
    const where = { id, resourceType: type, deletedAt: IsNull() };
    return this.db.isPostgres ? em.findOne(ScimResourceEntity, { where, lock: { mode: 'pessimistic_write' } }) : em.findOneBy(ScimResourceEntity, where);
  }

  private columns(type: ResourceTypeName, doc: Record<string, unknown>) {
    const name = String((type === 'User' ? doc.userName : doc.displayName) ?? '');
    const uniqueKey = type === 'User' ? normaliseString(name, false) : null;
    const externalId = typeof doc.externalId === 'string' ? doc.externalId : null;
    // Case folding can lengthen a name ('ß' → 'ss'), so the folded key is checked too.
    for (const [what, v] of [[type === 'User' ? 'userName' : 'displayName', name], ['userName', uniqueKey], ['externalId', externalId]] as const) {
      if (v && v.length > MAX_KEY_LENGTH) throw ScimError.invalidValue(`${what} is longer than ${MAX_KEY_LENGTH} characters`);
    }
    return {
      externalId,
      name,
      uniqueKey,
      active: type === 'User' ? doc.active !== false : true,
      doc,
    };
  }

  private async assertUnique(em: EntityManager, row: Pick<ScimResourceEntity, 'id' | 'resourceType' | 'uniqueKey'>): Promise<void> {
    if (!row.uniqueKey) return;
    const clash = await em.findOneBy(ScimResourceEntity, { resourceType: row.resourceType, uniqueKey: row.uniqueKey, deletedAt: IsNull() });
    if (clash && clash.id !== row.id) throw ScimError.uniqueness(`userName is already in use`);
  }

  private async writeIndex(em: EntityManager, row: ScimResourceEntity): Promise<void> {
    await em.delete(ResourceAttrEntity, { resourceId: row.id });
    const rows = resourceIndexRows(row, this.normaliser);
    const values = rows.map(r => ({ resourceId: row.id, resourceType: row.resourceType, path: r.path, value: r.value, valueFull: r.full ?? null, element: r.element }));
    for (let i = 0; i < values.length; i += 200) await em.insert(ResourceAttrEntity, values.slice(i, i + 200));
  }

  /** Replaces membership; returns ids whose membership changed. */
  private async setMembers(em: EntityManager, groupId: string, members: Array<{ value: string; type: string }>): Promise<string[]> {
    const existing = new Set((await em.findBy(GroupMemberEntity, { groupId })).map(m => m.memberId));
    const wanted = new Map(members.map(m => [m.value, m]));
    const remove = [...existing].filter(id => !wanted.has(id));
    const add = [...wanted.values()].filter(m => !existing.has(m.value));
    return this.applyMemberDelta(em, groupId, { add, remove });
  }

  private async applyMemberDelta(em: EntityManager, groupId: string, delta: MemberDelta): Promise<string[]> {
    if (delta.replaceAll) return this.setMembers(em, groupId, delta.add);
    const touched: string[] = [];
    const adds = delta.add.filter(m => m.value !== groupId);
    if (adds.length) {
      const ids = [...new Set(adds.map(m => m.value))];
      // Member type comes from the stored resource, never from the client's `type` (RFC 7643 §4.2).
      const found = new Map<string, 'User' | 'Group'>();
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = await em.find(ScimResourceEntity, { select: { id: true, resourceType: true }, where: { id: In(ids.slice(i, i + 500)), deletedAt: IsNull() } });
        chunk.forEach(r => found.set(r.id, r.resourceType as 'User' | 'Group'));
      }
      const missing = ids.filter(id => !found.has(id));
      if (missing.length) throw ScimError.invalidValue(`members: no resource with id ${missing.slice(0, 3).join(', ')}`);
      const present = new Set<string>();
      for (let i = 0; i < ids.length; i += 500) {
        (await em.find(GroupMemberEntity, { where: { groupId, memberId: In(ids.slice(i, i + 500)) } })).forEach(m => present.add(m.memberId));
      }
      const rows = ids.filter(id => !present.has(id)).map(id => ({ groupId, memberId: id, memberType: found.get(id)! }));
      for (let i = 0; i < rows.length; i += 200) await em.insert(GroupMemberEntity, rows.slice(i, i + 200));
      touched.push(...rows.map(r => r.memberId));
    }
    for (let i = 0; i < delta.remove.length; i += 500) {
      const ids = delta.remove.slice(i, i + 500);
      const res = await em.delete(GroupMemberEntity, { groupId, memberId: In(ids) });
      if (res.affected) touched.push(...ids);
    }
    return touched;
  }

  private async emit(em: EntityManager, row: ScimResourceEntity, kind: ChangeKind, ctx: WriteContext, touched: string[]): Promise<void> {
    await em.insert(ChangeEventEntity, {
      resourceType: row.resourceType, resourceId: row.id, version: row.version, kind, origin: ctx.origin,
      correlationId: ctx.correlationId, touched: touched.length ? touched.slice(0, 10000) : null, createdAt: nowIso(), publishedAt: null,
    });
  }

  private toStored(row: ScimResourceEntity, members?: Array<{ value: string; type: string }>): StoredResource {
    return {
      id: row.id, resourceType: row.resourceType, externalId: row.externalId, version: row.version, active: row.active,
      created: row.created, lastModified: row.lastModified, deletedAt: row.deletedAt, doc: row.doc, members,
    };
  }

  private mapDbError(e: unknown): unknown {
    const msg = (e as Error)?.message ?? '';
    if (/UNIQUE constraint failed|duplicate key value/i.test(msg)) return ScimError.uniqueness('userName is already in use');
    return e;
  }
}

class VersionConflict extends Error {}

