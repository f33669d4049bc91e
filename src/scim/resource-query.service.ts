import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { DbService } from '../db/db.service.js';
import { ResourceService } from '../identity/resource.service.js';
import { StoredResource } from '../identity/resource.types.js';
import { ScimResourceEntity } from '../identity/scim-resource.entity.js';
import { compileFilter as resolveFilter } from './filter/filter.evaluator.js';
import { parseFilter } from './filter/filter.parser.js';
import { compileFilter, sortExpression } from './query/filter-sql.js';
import { IndexSchemas } from './query/index-schema.js';
import { ResolvedPath, SchemaRegistry } from './schema/schema-registry.js';
import { ResourceTypeName } from './scim.constants.js';
import { ScimError } from './scim.error.js';

/** Largest page served (advertised as `filter.maxResults`, RFC 7644 §3.4.2.4). */
export const MAX_RESULTS = 1000;
/** Default page size when the client sends no `count`. */
export const DEFAULT_COUNT = 100;

/** RFC 7644 §3.4.2: `sortBy` / `sortOrder` (§3.4.2.3) come from the query string or the SearchRequest body alike. */
/** `withMembers: false` skips reading Group members (the projection drops them; Entra excludes them on every GET). */
export interface ListParams {
  filter?: unknown; startIndex?: unknown; count?: unknown; sortBy?: unknown; sortOrder?: unknown; withMembers?: boolean;
  /**
   * The response's SCIM base URL (`ScimUrls.base(req)`, e.g. `https://host/scim/v2`), so `meta.location`
   * and `$ref` filters compare with what is served. Defaults to PUBLIC_BASE_URL; without either they are a 400.
   */
  baseUrl?: string;
}
export interface ListPage { totalResults: number; startIndex: number; resources: StoredResource[] }

/**
 * List and search (RFC 7644 §3.4.2): the filter compiles to SQL so the database filters, counts and
 * pages. `startIndex < 1` is treated as 1; `count` is capped at MAX_RESULTS; `count=0` returns only
 * totalResults. Paths are resolved against the schema first: an unknown attribute or an impossible
 * comparison is 400 invalidFilter, as in the in-memory evaluator, rather than an empty list.
 */
@Injectable()
export class ResourceQueryService {
  private readonly index: IndexSchemas;

  constructor(
    private readonly db: DbService, private readonly resources: ResourceService, private readonly registry: SchemaRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    // The same (CoreModule) registry ResourceService indexes writes with: writes and queries agree.
    this.index = new IndexSchemas(registry);
  }

  private sortBy(type: ResourceTypeName, params: ListParams): SortSpec | undefined {
    return parseSort(this.registry, type, params);
  }

  async list(type: ResourceTypeName, params: ListParams): Promise<ListPage> {
    const startIndex = Math.max(1, toInt(params.startIndex, 'startIndex') ?? 1);
    const count = Math.min(MAX_RESULTS, Math.max(0, toInt(params.count, 'count') ?? DEFAULT_COUNT));
    const dialect = this.db.isPostgres ? 'postgres' : 'sqlite';
    const schema = this.index.for(type);
    const sort = this.sortBy(type, params);
    const filtered = params.filter !== undefined && params.filter !== '';
    // With a filter, SQLite must drive from the attribute index (`r.id IN (…)` → primary key), not scan
    // every resource of the type: unary + hides the type column from its planner. PostgreSQL plans it.
    const typeColumn = filtered && dialect === 'sqlite' ? '+r.resource_type' : 'r.resource_type';
    const qb = this.db.manager.createQueryBuilder(ScimResourceEntity, 'r')
      .where(`${typeColumn} = :type AND r.deleted_at IS NULL`, { type });
    if (filtered) {
      if (typeof params.filter !== 'string') throw ScimError.invalidFilter('filter must be a string');
      const ast = parseFilter(params.filter);
      resolveFilter(ast, this.registry, type);
      const publicBase = this.config.env.publicBaseUrl ? `${this.config.env.publicBaseUrl}/scim/v2` : undefined;
      const compiled = compileFilter(ast, dialect, schema, { baseUrl: params.baseUrl ?? publicBase });
      qb.andWhere(compiled.sql, compiled.params);
    }
    const totalResults = await qb.getCount();
    // Past the end there is nothing to read; a huge OFFSET (startIndex=1e20) would overflow SQL integers.
    if (count === 0 || startIndex > totalResults) return { totalResults, startIndex, resources: [] };
    if (sort) {
      let n = 0;
      const expr = sortExpression(schema.targetOf(sort.resolved), dialect, (value) => {
        const name = `sort${n++}`;
        qb.setParameter(name, value);
        return `:${name}`;
      });
      // RFC 7644 §3.4.2.3: unassigned values last when ascending (and so first when descending).
      qb.orderBy(expr, sort.descending ? 'DESC' : 'ASC', sort.descending ? 'NULLS FIRST' : 'NULLS LAST');
      qb.addOrderBy('r.created_at', 'ASC');
    } else {
      qb.orderBy('r.created_at', 'ASC');
    }
    const rows = await qb.addOrderBy('r.id', 'ASC').offset(startIndex - 1).limit(count).getMany();
    const members = type === 'Group' && params.withMembers !== false ? await this.resources.membersOf(rows.map(r => r.id)) : undefined;
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

export interface SortSpec { resolved: ResolvedPath; descending: boolean }

/**
 * `sortBy` (an attribute path, case-insensitive, resolved by the SchemaRegistry) and `sortOrder`
 * (`ascending`, the default, or `descending`). Undefined without `sortBy`. 400 invalidValue for an
 * unknown or complex attribute or another sortOrder.
 */
export function parseSort(registry: SchemaRegistry, type: string, params: Pick<ListParams, 'sortBy' | 'sortOrder'>): SortSpec | undefined {
  const { sortBy, sortOrder } = params;
  let descending = false;
  if (sortOrder !== undefined && sortOrder !== null && sortOrder !== '') {
    if (typeof sortOrder !== 'string' || !/^(ascending|descending)$/i.test(sortOrder)) {
      throw ScimError.invalidValue('sortOrder must be "ascending" or "descending"');
    }
    descending = sortOrder.toLowerCase() === 'descending';
  }
  if (sortBy === undefined || sortBy === null || sortBy === '') return undefined;
  if (typeof sortBy !== 'string') throw ScimError.invalidValue('sortBy must be an attribute path');
  const resolved = registry.tryResolve(type, sortBy.trim());
  if (!resolved) throw ScimError.invalidValue(`sortBy: unknown attribute "${sortBy}"`);
  const complex = resolved.wholeSchema || (resolved.definition.type === 'complex' && !resolved.definition.subAttributes?.some(s => s.name === 'value'));
  if (complex) throw ScimError.invalidValue(`sortBy "${resolved.canonicalPath}" is complex: name a sub-attribute`);
  if (resolved.definition.returned === 'never') throw ScimError.invalidValue(`sortBy: "${resolved.canonicalPath}" is never returned`);
  // Not in resource_attr: membership lives in group_member, meta.location depends on the request.
  const unindexed = (!resolved.inExtension && /^(members|groups)$/i.test(resolved.attribute.name)) || /^meta\.location$/i.test(resolved.canonicalPath);
  if (unindexed) throw ScimError.invalidValue(`sortBy: "${resolved.canonicalPath}" cannot be sorted by`);
  return { resolved, descending };
}

function toInt(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  // Only a number or its text: Number([1]) is 1, and Number() of a deep array recurses to a stack overflow.
  if (typeof v !== 'number' && typeof v !== 'string') throw ScimError.invalidValue(`${name} must be an integer`);
  const n = Number(v);
  if (!Number.isFinite(n)) throw ScimError.invalidValue(`${name} must be an integer`);
  return Math.trunc(n);
}
