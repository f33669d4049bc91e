import { Injectable } from '@nestjs/common';
import { DbService } from '../db/db.service.js';
import { ResourceService } from '../identity/resource.service.js';
import { StoredResource } from '../identity/resource.types.js';
import { ScimResourceEntity } from '../identity/scim-resource.entity.js';
import { compileFilter as resolveFilter } from './filter/filter.evaluator.js';
import { parseFilter } from './filter/filter.parser.js';
import { compileFilter } from './query/filter-sql.js';
import { attrPathKey, normaliseLiteral } from './query/path-key.js';
import { SchemaRegistry } from './schema/schema-registry.js';
import { ResourceTypeName } from './scim.constants.js';
import { ScimError } from './scim.error.js';

/** Largest page served (advertised as `filter.maxResults`, RFC 7644 §3.4.2.4). */
export const MAX_RESULTS = 1000;
/** Default page size when the client sends no `count`. */
export const DEFAULT_COUNT = 100;

export interface ListParams { filter?: unknown; startIndex?: unknown; count?: unknown }
export interface ListPage { totalResults: number; startIndex: number; resources: StoredResource[] }

/**
 * List and search (RFC 7644 §3.4.2): the filter compiles to SQL so the database filters, counts and
 * pages. `startIndex < 1` is treated as 1; `count` is capped at MAX_RESULTS; `count=0` returns only
 * totalResults. Paths are resolved against the schema first: an unknown attribute or an impossible
 * comparison is 400 invalidFilter, as in the in-memory evaluator, rather than an empty list.
 */
@Injectable()
export class ResourceQueryService {
  constructor(private readonly db: DbService, private readonly resources: ResourceService, private readonly registry: SchemaRegistry) {}

  async list(type: ResourceTypeName, params: ListParams): Promise<ListPage> {
    const startIndex = Math.max(1, toInt(params.startIndex, 'startIndex') ?? 1);
    const count = Math.min(MAX_RESULTS, Math.max(0, toInt(params.count, 'count') ?? DEFAULT_COUNT));
    const qb = this.db.manager.createQueryBuilder(ScimResourceEntity, 'r')
      .where('r.resource_type = :type AND r.deleted_at IS NULL', { type });
    if (params.filter !== undefined && params.filter !== '') {
      if (typeof params.filter !== 'string') throw ScimError.invalidFilter('filter must be a string');
      const ast = parseFilter(params.filter);
      resolveFilter(ast, this.registry, type);
      const compiled = compileFilter(ast, this.db.isPostgres ? 'postgres' : 'sqlite', attrPathKey(type), normaliseLiteral);
      qb.andWhere(compiled.sql, compiled.params);
    }
    const totalResults = await qb.getCount();
    // Past the end there is nothing to read; a huge OFFSET (startIndex=1e20) would overflow SQL integers.
    if (count === 0 || startIndex > totalResults) return { totalResults, startIndex, resources: [] };
    const rows = await qb.orderBy('r.created_at', 'ASC').addOrderBy('r.id', 'ASC').offset(startIndex - 1).limit(count).getMany();
    const members = type === 'Group' ? await this.resources.membersOf(rows.map(r => r.id)) : undefined;
    return {
      totalResults,
      startIndex,
      resources: rows.map(r => ({
        id: r.id, resourceType: r.resourceType, externalId: r.externalId, version: r.version, active: r.active, created: r.created,
        lastModified: r.lastModified, deletedAt: r.deletedAt, doc: r.doc, members: members ? members.get(r.id) ?? [] : undefined,
      })),
    };
  }
}

function toInt(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  // Only a number or its text: Number([1]) is 1, and Number() of a deep array recurses to a stack overflow.
  if (typeof v !== 'number' && typeof v !== 'string') throw ScimError.invalidValue(`${name} must be an integer`);
  const n = Number(v);
  if (!Number.isFinite(n)) throw ScimError.invalidValue(`${name} must be an integer`);
  return Math.trunc(n);
}
