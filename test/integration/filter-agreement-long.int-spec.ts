import fc from 'fast-check';
import { reindexLongValues } from '../../src/db/migrations/1764600000000-resource-attr-full-value.js';
import { DbService } from '../../src/db/db.service.js';
import { MAX_INDEXED_BYTES } from '../../src/identity/attr-index.js';
import { ScimResourceEntity } from '../../src/identity/scim-resource.entity.js';
import { formatFilter, type CompareOp, type Filter } from '../../src/scim/filter/filter.ast.js';
import { compareCodePoints, compileFilter as compileInMemory, normaliseString } from '../../src/scim/filter/filter.evaluator.js';
import { parseFilter } from '../../src/scim/filter/filter.parser.js';
import { compileFilter as compileSql } from '../../src/scim/query/filter-sql.js';
import { IndexSchema } from '../../src/scim/query/index-schema.js';
import { SchemaRegistry } from '../../src/scim/schema/schema-registry.js';
import { storeKinds } from '../utils/databases.js';
import { Harness } from '../utils/harness.js';

/**
 * Values far longer than the indexed prefix (5,000 characters; ASCII, 2-, 3- and 4-byte UTF-8, and
 * 'İ' / 'ß' whose case folding changes the length) that share their first 1,024 bytes and differ
 * after it: `eq`, `ne`, `sw`, `ew`, `co` and ordering in SQL (prefix in `value`, the rest verified on
 * `value_full`) agree with evaluateFilter on SQLite and PostgreSQL, sorting follows code point order
 * of the whole value, and the 1764600000000 migration rebuilds rows cut the former way.
 */

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SEED = Number(process.env.FILTER_FUZZ_SEED ?? 5000);
const LENGTH = 5000;

/** Stems whose repetition fills LENGTH characters; each crosses MAX_INDEXED_BYTES at a different character. */
const STEMS = ['a', 'ß', '€', '😀', 'İx', 'Straße '];
const stem = (s: string) => s.repeat(Math.ceil(LENGTH / s.length)).slice(0, LENGTH - 8);
/** Values: a stem, then a tail that differs only past the indexed prefix. */
const TAILS = ['-tail-01', '-TAIL-01', '-tail-02', '-ß-ende', '😀-end-😀', ''];

describe.each(storeKinds())('long values: SQL agrees with evaluateFilter (%s)', (db) => {
  const registry = new SchemaRegistry();
  const schema = new IndexSchema(registry, 'User');
  let h: Harness;
  let served: Array<Record<string, unknown>> = [];
  const values: string[] = [];

  beforeAll(async () => {
    h = await Harness.start({ db });
    let i = 0;
    for (const s of STEMS) {
      for (const tail of TAILS) {
        const value = stem(s) + tail;
        values.push(value);
        const body = {
          schemas: [USER], userName: `long${i}`, displayName: value, title: i % 2 ? value.toUpperCase() : value,
          emails: [{ value: `${value}@x.com`, type: 'work' }, { value: `short${i}@x.com` }],
          nickName: i % 3 ? undefined : Array.from(value).slice(0, 1020 + i).join(''),
        };
        const res = await h.scim('POST', '/Users', body);
        if (res.status !== 201) throw new Error(`POST /Users ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
        i++;
      }
    }
    served = (await h.scim('GET', '/Users?count=1000')).body.Resources;
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  async function sqlIds(text: string): Promise<string[]> {
    const compiled = compileSql(parseFilter(text, { maxLength: 100_000 }), db, schema);
    const rows = await h.get(DbService).manager.createQueryBuilder(ScimResourceEntity, 'r')
      .where("r.resource_type = 'User' AND r.deleted_at IS NULL").andWhere(compiled.sql, compiled.params).getMany();
    return rows.map((r) => r.id).sort();
  }

  function expected(text: string): string[] {
    const predicate = compileInMemory(parseFilter(text, { maxLength: 100_000 }), registry, 'User');
    return served.filter((r) => predicate(r)).map((r) => r.id as string).sort();
  }

  // First: the harness's keep-alive socket goes stale while the SQL-only tests below run.
  it('sorts by the whole value (code point order of the folded text)', async () => {
    const page = await h.scim('GET', '/Users?sortBy=title&count=1000&attributes=title');
    const got = (page.body.Resources as Array<{ title: string }>).map((r) => normaliseString(r.title, false));
    expect(got).toHaveLength(values.length);
    expect(got).toEqual([...got].sort(compareCodePoints));
  });

  it('stores long values whole: a prefix within the btree limit plus value_full', async () => {
    const rows: Array<{ value: string; value_full: string | null }> = await h.get(DbService).manager.query(
      "SELECT value, value_full FROM resource_attr WHERE path = 'displayname'",
    );
    expect(rows).toHaveLength(values.length);
    for (const row of rows) {
      expect(Buffer.byteLength(row.value)).toBeLessThanOrEqual(MAX_INDEXED_BYTES);
      expect(row.value_full?.startsWith(row.value)).toBe(true);
      expect(values.map((v) => normaliseString(v, false))).toContain(row.value_full);
    }
  });

  it('answers random comparisons of long literals exactly as evaluateFilter does', async () => {
    const literal = fc.tuple(fc.constantFrom(...values), fc.constantFrom('whole', 'upper', 'prefix', 'suffix', 'middle'), fc.integer({ min: 1, max: LENGTH }))
      .map(([v, how, n]) => {
        switch (how) {
          case 'whole': return v;
          case 'upper': return v.toUpperCase();
          case 'prefix': return v.slice(0, n);
          case 'suffix': return v.slice(v.length - Math.min(n, 400));
          default: return v.slice(n % 4000, (n % 4000) + 300);
        }
      })
      // Never split a surrogate pair: a lone surrogate is not a valid filter string.
      .filter((s) => !/[\uD800-\uDBFF]$|^[\uDC00-\uDFFF]/.test(s));
    const ops: CompareOp[] = ['eq', 'ne', 'sw', 'ew', 'co', 'gt', 'ge', 'lt', 'le'];
    const path = fc.constantFrom('displayName', 'title', 'emails.value', 'emails', 'nickName');
    const leaf = fc.tuple(path, fc.constantFrom(...ops), literal).map(([attr, op, value]): Filter => {
      const [a, sub] = attr.split('.');
      return { kind: 'compare', path: { attr: a!, ...(sub ? { sub } : {}) }, op, value: attr.startsWith('emails') && op === 'eq' ? `${value}@x.com` : value };
    });
    const filter = fc.oneof(
      { weight: 4, arbitrary: leaf },
      { weight: 1, arbitrary: fc.tuple(leaf, leaf).map(([left, right]): Filter => ({ kind: 'and', left, right })) },
      { weight: 1, arbitrary: leaf.map((f): Filter => ({ kind: 'valuePath', path: { attr: 'emails' }, filter: { ...f, path: { attr: 'value' } } as Filter })) },
    );
    let selective = 0;
    await fc.assert(fc.asyncProperty(filter, async (f) => {
      const text = formatFilter(f);
      const want = expected(text);
      if (want.length > 0 && want.length < served.length) selective++;
      expect({ text: text.slice(0, 120), ids: await sqlIds(text) }).toEqual({ text: text.slice(0, 120), ids: want });
    }), { numRuns: Number(process.env.FILTER_FUZZ_RUNS ?? 150), seed: SEED });
    expect(selective).toBeGreaterThan(20);
  }, 120_000);

  it.each([
    (v: string[]) => `displayName eq ${JSON.stringify(v[1]!.toLowerCase())}`,
    (v: string[]) => `title eq ${JSON.stringify(v[2])}`,
    (v: string[]) => `displayName sw ${JSON.stringify(v[7]!.slice(0, 4999))}`,
    (v: string[]) => `displayName ew "-tail-01"`,
    (v: string[]) => `emails.value eq ${JSON.stringify(`${v[9]}@X.COM`)}`,
    (v: string[]) => `displayName ne ${JSON.stringify(v[0])} and displayName gt ${JSON.stringify(v[3])}`,
  ])('%#: a chosen long comparison selects what evaluateFilter selects', async (make) => {
    const text = make(values);
    const want = expected(text);
    expect(want.length).toBeGreaterThan(0);
    expect(await sqlIds(text)).toEqual(want);
  });

  it('the 1764600000000 migration rebuilds rows cut short the former way', async () => {
    const manager = h.get(DbService).manager;
    const snapshot = async () => manager.query('SELECT resource_id, path, value, value_full, element FROM resource_attr ORDER BY resource_id, path, element, value');
    const written = await snapshot();
    // Cut without value_full, as before (at 500 characters: 1,000 four-byte ones no longer fit a PostgreSQL btree entry).
    await manager.query('UPDATE resource_attr SET value = substr(COALESCE(value_full, value), 1, 500), value_full = NULL');
    expect(await snapshot()).not.toEqual(written);
    const runner = h.get(DbService).dataSource.createQueryRunner();
    try {
      expect(await reindexLongValues(runner)).toBe(values.length);
    } finally {
      await runner.release();
    }
    expect(await snapshot()).toEqual(written);
  });
});
