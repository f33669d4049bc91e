import { Inject, Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { request } from 'undici';
import { nowIso } from '../common/clock.js';
import { Mutex } from '../common/mutex.js';
import { APP_CONFIG, AppConfig, readSecret } from '../config/app-config.js';
import { HrSourceConfig } from '../config/hr-config.dto.js';
import { DbService } from '../db/db.service.js';
import { ResourceService } from '../identity/resource.service.js';
import { StoredResource } from '../identity/resource.types.js';
import { ScimResourceEntity } from '../identity/scim-resource.entity.js';
import { normaliseString } from '../scim/filter/normalise.util.js';
import { prepareWrite } from '../scim/resource.input.js';
import { SchemaRegistry } from '../scim/schema/schema-registry.js';
import { HrEmployeeEntity } from './hr-employee.entity.js';
import { HrEventEntity } from './hr-event.entity.js';
import { evaluate } from './hr-expression.js';
import { setPath } from './hr-mapping.util.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** A mapping or matching problem that no retry can fix (the event ends `failed` with this reason). */
export class HrPermanentError extends Error {}

/** A temporary failure (the HR system's API down): the job is retried with backoff. */
export class HrRetryableError extends Error {}

export interface HrWriteOptions {
  /** Create the identity when none matches (hires). */
  create: boolean;
  /** Sets `active` (hire → true or false until start; terminate → false; activate → true). */
  active?: boolean;
  /** Write only `active`, not the mapped attributes (activation at the start date). */
  activeOnly?: boolean;
}

/**
 * Turns an HR event into a canonical User write through the ONE write path (ResourceService, origin
 * `hr:<sourceId>`), so outbox, fan-out and every downstream app follow. Maps the payload (plus the
 * record fetched for slim events) with the source's JSONata mappings, finds the identity (this
 * source's link, then `match` keys), and never lets an attribute be overwritten by an event older
 * than the one that last set it (per-attribute source timestamps in `hr_employee`).
 */
@Injectable()
export class HrIdentityWriter {
  /** Serialises HR writes in this process: the per-attribute timestamps are read-modify-write. */
  private readonly lock = new Mutex();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DbService,
    private readonly resources: ResourceService,
    /** The configured registry (CoreModule): HR mappings may target custom extension attributes. */
    private readonly registry: SchemaRegistry,
  ) {}

  source(id: string): HrSourceConfig | undefined {
    return this.config.hr.sources.find(s => s.id === id);
  }

  /** Applies `ev` to its employee's identity. Returns the resource written, or undefined when none matched and `create` is false. */
  write(source: HrSourceConfig, ev: HrEventEntity, opts: HrWriteOptions): Promise<StoredResource | undefined> {
    return this.lock.run(() => this.acrossProcesses(`hr:${source.id}:${ev.employeeId}`, () => this.writeLocked(source, ev, opts)));
  }

  /**
   * On PostgreSQL several worker processes apply HR events: a session advisory lock per (source,
   * employee) makes the per-attribute timestamps' read-modify-write atomic across them. A hash
   * collision only serialises two unrelated employees. SQLite is single-process (the mutex suffices).
   */
  private async acrossProcesses<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (!this.db.isPostgres) return fn();
    const runner = this.db.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
      try {
        return await fn();
      } finally {
        await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
      }
    } finally {
      await runner.release();
    }
  }

  private async writeLocked(source: HrSourceConfig, ev: HrEventEntity, opts: HrWriteOptions): Promise<StoredResource | undefined> {
    const employeeId = ev.employeeId!;
    const link = await this.db.manager.findOneBy(HrEmployeeEntity, { sourceId: source.id, employeeId });
    const attrTs = { ...(link?.attrTs ?? {}) };
    const values = opts.activeOnly ? [] : await this.mapped(source, ev);
    const fresh = values.filter(([target]) => !attrTs[target] || attrTs[target] <= ev.sourceTs);
    let current = link?.resourceId ? await this.resources.find('User', link.resourceId) : undefined;
    current ??= await this.match(source, values);
    const ctx = { origin: `hr:${source.id}`, correlationId: ev.id.replace(/-/g, '').slice(0, 16) };
    let result: StoredResource;
    if (!current) {
      if (!opts.create) return undefined;
      const doc: Record<string, unknown> = { schemas: [CORE_USER] };
      for (const [t, v] of values) setPath(doc, t, v);
      doc.active = opts.active ?? true;
      if (typeof doc.userName !== 'string' || !doc.userName) throw new HrPermanentError('the mapping produced no userName for a new identity');
      // prepare() validates (RFC 7643 shapes): its 400 is permanent too, so it runs inside the classified call.
      result = await Promise.resolve().then(() => this.resources.create('User', this.prepare(doc), ctx)).catch(e => { throw asPermanent(e); });
    } else {
      ({ resource: result } = await this.resources.update('User', current.id, ctx, cur => {
        const doc = structuredClone(cur.doc);
        for (const [t, v] of fresh) setPath(doc, t, v);
        if (opts.active !== undefined) doc.active = opts.active;
        return this.prepare(doc);
      }).catch(e => { throw asPermanent(e); }));
    }
    for (const [t] of fresh) attrTs[t] = ev.sourceTs;
    const row = { sourceId: source.id, employeeId, resourceId: result.id, attrTs, updatedAt: nowIso() };
    await this.db.write(em => em.upsert(HrEmployeeEntity, row, ['sourceId', 'employeeId']));
    return result;
  }

  /** Validates like a SCIM write (schemas, shapes, readOnly dropped), so HR and SCIM store the same. */
  private prepare(doc: Record<string, unknown>) {
    const schemas = new Set<string>(Array.isArray(doc.schemas) ? doc.schemas as string[] : [CORE_USER]);
    if (doc[ENTERPRISE] !== undefined) schemas.add(ENTERPRISE);
    return prepareWrite('User', { ...doc, schemas: [...schemas] }, this.registry);
  }

  /** (target path, value) per mapping entry, in order; entries that yield nothing are skipped. */
  private async mapped(source: HrSourceConfig, ev: HrEventEntity): Promise<Array<[string, unknown]>> {
    let input = ev.payload;
    if (source.fetch) input = { ...(isObject(input) ? input : { event: input }), record: await this.fetchRecord(source, ev.employeeId!) };
    const bindings = {
      /** Canonical id of another employee of this source (e.g. the manager), or undefined. */
      canonicalId: async (employeeId: unknown) => {
        if (employeeId === undefined || employeeId === null || employeeId === '') return undefined;
        const l = await this.db.manager.findOneBy(HrEmployeeEntity, { sourceId: source.id, employeeId: String(employeeId) });
        return l?.resourceId ?? undefined;
      },
    };
    const out: Array<[string, unknown]> = [];
    for (const m of source.mappings) {
      const v = m.expression !== undefined ? await evaluate(m.expression, input, `mapping ${m.target}`, bindings).catch(e => { throw new HrPermanentError((e as Error).message); }) : m.value;
      if (v !== undefined && v !== null && v !== '') out.push([m.target, this.coerce(m.target, plain(v))]);
    }
    return out;
  }

  /**
   * A JSON number for a string attribute (employee ids such as `12345`) becomes its decimal string, as
   * the ingress stores the employee id and `match` compares it: one canonical form, never a 400.
   */
  private coerce(target: string, v: unknown): unknown {
    if (typeof v !== 'number' || !Number.isFinite(v)) return v;
    return this.registry.tryResolve('User', target)?.definition.type === 'string' ? String(v) : v;
  }

  /** Slim events: the full record from the HR system's API (`fetch.urlTemplate`, bearer `fetch.tokenEnv`). */
  private async fetchRecord(source: HrSourceConfig, employeeId: string): Promise<unknown> {
    const f = source.fetch!;
    const token = readSecret(f.tokenEnv);
    let res;
    try {
      res = await request(f.urlTemplate.replace('{employeeId}', encodeURIComponent(employeeId)), {
        method: 'GET', headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        headersTimeout: f.timeoutMs, bodyTimeout: f.timeoutMs,
      });
    } catch (e) {
      throw new HrRetryableError(`fetching employee ${employeeId} from ${source.id}: ${(e as Error).message}`);
    }
    const text = await res.body.text();
    if (res.statusCode === 404) throw new HrPermanentError(`the HR API has no employee ${employeeId}`);
    if (res.statusCode >= 300) throw new HrRetryableError(`fetching employee ${employeeId} from ${source.id}: HTTP ${res.statusCode}`);
    try { return JSON.parse(text); } catch { throw new HrRetryableError(`fetching employee ${employeeId}: response is not JSON`); }
  }

  /** The live identity matching one of the source's `match` keys (in order), or undefined. Two different matches for one key → permanent error. */
  private async match(source: HrSourceConfig, values: Array<[string, unknown]>): Promise<StoredResource | undefined> {
    for (const key of source.match) {
      const k = key.toLowerCase();
      const entry = values.find(([t]) => t.toLowerCase() === k || t.toLowerCase().endsWith(`:${k}`) || t.toLowerCase() === `${k}.value`);
      if (!entry) continue;
      let ids: string[] = [];
      if (k === 'externalid' || k === 'username') {
        const where = k === 'externalid' ? { externalId: String(entry[1]) } : { uniqueKey: normaliseString(String(entry[1]), false) };
        ids = (await this.db.manager.find(ScimResourceEntity, { select: { id: true }, where: { ...where, resourceType: 'User', deletedAt: IsNull() } })).map(r => r.id);
      } else {
        const path = k === 'emails' ? 'emails.value' : k === 'employeenumber' ? `${ENTERPRISE.toLowerCase()}:employeenumber` : k;
        const raw = Array.isArray(entry[1]) ? entry[1].map(e => (isObject(e) ? e.value : e)) : [isObject(entry[1]) ? entry[1].value : entry[1]];
        const wanted = raw.filter(v => typeof v === 'string' || typeof v === 'number').map(v => normaliseString(String(v), false));
        if (!wanted.length) continue;
        const rows: Array<{ id: string }> = await this.db.manager.query(
          `SELECT DISTINCT r.id AS id FROM resource_attr a JOIN scim_resource r ON r.id = a.resource_id
            WHERE a.resource_type = 'User' AND a.path = $1 AND a.value IN (${wanted.map((_, i) => `$${i + 2}`).join(', ')}) AND r.deleted_at IS NULL`
            .replace(/\$(\d+)/g, this.db.isPostgres ? '$$$1' : '?'),
          [path, ...wanted],
        );
        ids = rows.map(r => r.id);
      }
      if (ids.length > 1) throw new HrPermanentError(`ambiguous match: ${ids.length} identities share this ${key}`);
      if (ids.length === 1) return this.resources.find('User', ids[0]);
    }
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSONata sequences carry extra properties; store plain JSON. */
function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

/** A 4xx from the write path (invalid value, uniqueness) will not heal on retry. */
function asPermanent(e: unknown): unknown {
  const status = (e as { status?: number })?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? new HrPermanentError((e as Error).message) : e;
}
