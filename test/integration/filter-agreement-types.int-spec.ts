import fc from 'fast-check';
import { Client } from 'pg';
import { indexAttributes } from '../../src/identity/attr-index.js';
import { formatFilter, type AttrPath, type CompValue, type CompareOp, type Filter } from '../../src/scim/filter/filter.ast.js';
import { compileFilter as compileInMemory } from '../../src/scim/filter/filter.evaluator.js';
import { parseFilter } from '../../src/scim/filter/filter.parser.js';
import { compileFilter as compileSql, sortExpression, type Dialect } from '../../src/scim/query/filter-sql.js';
import { IndexSchema } from '../../src/scim/query/index-schema.js';
import { attribute, complexAttribute } from '../../src/scim/schema/attribute.util.js';
import { SchemaRegistry } from '../../src/scim/schema/schema-registry.js';
import { ScimError } from '../../src/scim/scim.error.js';
import { storeKinds, testDatabase, type TestDatabase } from '../utils/databases.js';

/**
 * Property test for the types the core schemas lack: a company extension with integer, decimal,
 * dateTime (singular and multi-valued, with offsets and invalid values), a caseExact string, and a
 * multi-valued complex attribute with dateTime values. Documents are indexed with the registry's
 * normaliser (as ResourceService.writeIndex does), filters compiled to SQL and run on SQLite and
 * PostgreSQL, and the ids compared with evaluateFilter; sorting is checked against a JS sort of the
 * same normalised values.
 */

const ACME = 'urn:acme:scim:schemas:1.0:User';
const SEED = Number(process.env.FILTER_FUZZ_SEED ?? 4242);

const registry = new SchemaRegistry({
  schemas: [{
    id: ACME, name: 'AcmeUser', description: 'Acme',
    attributes: [
      attribute('level', 'integer', 'level'),
      attribute('score', 'decimal', 'score'),
      attribute('hired', 'dateTime', 'hired'),
      attribute('shifts', 'dateTime', 'shifts', { multiValued: true }),
      attribute('badge', 'string', 'badge', { caseExact: true }),
      attribute('vip', 'boolean', 'vip'),
      complexAttribute('certs', 'certs', [
        attribute('value', 'dateTime', 'expiry'),
        attribute('kind', 'string', 'kind'),
        attribute('primary', 'boolean', 'primary'),
      ], { multiValued: true }),
    ],
  }],
  extensions: [{ resourceType: 'User', schema: ACME }],
});
const schema = new IndexSchema(registry, 'User');

const BASE = Date.UTC(2024, 0, 1);
const OFFSETS = ['Z', '+00:00', '+01:00', '-08:00', '+05:30', '+14:00', '-12:00'];
const instant = fc.integer({ min: -3, max: 3 }).map((h) => BASE + h * 3_600_000);
const dateText = fc.tuple(instant, fc.constantFrom(...OFFSETS), fc.constantFrom(0, 0, 500, 999)).map(([t, off, ms]) => {
  const minutes = off === 'Z' ? 0 : (off.startsWith('-') ? -1 : 1) * (Number(off.slice(1, 3)) * 60 + Number(off.slice(-2)));
  const local = new Date(t + ms + minutes * 60_000).toISOString().replace('Z', '');
  return `${ms ? local : local.slice(0, 19)}${off}`;
});
const dateValue = fc.oneof({ weight: 8, arbitrary: dateText }, { weight: 1, arbitrary: fc.constantFrom('2024-01-01', 'not a date', '2024-02-30T00:00:00Z') });
const numbers = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom(0, -0, 0.5, -0.5, 1e21, -1e-7, 2 ** 53, 10, 9, 100));
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 4 });

const docArb = fc.record({
  level: opt(fc.integer({ min: -20, max: 20 })),
  score: opt(numbers),
  hired: opt(dateValue),
  shifts: opt(fc.array(dateValue, { maxLength: 3 })),
  badge: opt(fc.constantFrom('A', 'a', 'ß', 'SS', 'Ä', 'A\u0308', 'İ', 'i̇', '😀', '\uE000', '')),
  vip: opt(fc.boolean()),
  certs: opt(fc.array(fc.record({ value: opt(dateValue), kind: opt(fc.constantFrom('tls', 'TLS', 'code')), primary: opt(fc.boolean()) }, { requiredKeys: [] }), { maxLength: 3 })),
}, { requiredKeys: [] });

const path = (attr: string, sub?: string): AttrPath => ({ uri: ACME, attr, ...(sub ? { sub } : {}) });
type Kind = 'number' | 'dateTime' | 'string' | 'boolean' | 'complex';
const PATHS: Array<{ path: AttrPath; kind: Kind }> = [
  { path: path('level'), kind: 'number' }, { path: path('score'), kind: 'number' }, { path: path('hired'), kind: 'dateTime' },
  { path: path('shifts'), kind: 'dateTime' }, { path: path('badge'), kind: 'string' }, { path: path('vip'), kind: 'boolean' },
  { path: path('certs'), kind: 'dateTime' }, { path: path('certs', 'value'), kind: 'dateTime' }, { path: path('certs', 'kind'), kind: 'string' },
  { path: path('certs', 'primary'), kind: 'boolean' }, { path: { uri: 'urn:acme:scim:schemas:1.0', attr: 'User' }, kind: 'complex' },
];
const CERT_SUBS: Array<{ path: AttrPath; kind: Kind }> = [
  { path: { attr: 'value' }, kind: 'dateTime' }, { path: { attr: 'kind' }, kind: 'string' }, { path: { attr: 'primary' }, kind: 'boolean' },
];
const OPS: CompareOp[] = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];

function valueFor(kind: Kind): fc.Arbitrary<CompValue> {
  switch (kind) {
    case 'number': return fc.oneof(numbers, fc.constantFrom<CompValue>('3', ' 10 ', '1e1', 'x', null, true));
    case 'dateTime': return fc.oneof({ weight: 6, arbitrary: dateText }, { weight: 1, arbitrary: fc.constantFrom<CompValue>('2024-01-01', 'x', null, 3) });
    case 'boolean': return fc.oneof(fc.boolean(), fc.constantFrom<CompValue>('FALSE', 'no', null));
    default: return fc.constantFrom<CompValue>('a', 'A', 'ss', 'ß', 'Ä', 'ä', 'A\u0308', 'i̇', 'İ', '😀', '\uE000', '', 'tls', 'TLS', 1, null);
  }
}

function filterArb(paths: Array<{ path: AttrPath; kind: Kind }>, depth: number, valuePaths: boolean): fc.Arbitrary<Filter> {
  const leaf = fc.constantFrom(...paths).chain((spec) => fc.oneof(
    { weight: 1, arbitrary: fc.constant<Filter>({ kind: 'present', path: spec.path }) },
    { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...OPS), valueFor(spec.kind)).map(([op, value]): Filter => ({ kind: 'compare', path: spec.path, op, value })) },
  ));
  const options: Array<fc.WeightedArbitrary<Filter>> = [{ weight: 6, arbitrary: leaf }];
  if (valuePaths) options.push({ weight: 2, arbitrary: filterArb(CERT_SUBS, 1, false).map((f): Filter => ({ kind: 'valuePath', path: path('certs'), filter: f })) });
  if (depth > 0) {
    const sub = filterArb(paths, depth - 1, valuePaths);
    options.push(
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom<'and' | 'or'>('and', 'or'), sub, sub).map(([kind, left, right]): Filter => ({ kind, left, right })) },
      { weight: 1, arbitrary: sub.map((f): Filter => ({ kind: 'not', filter: f })) },
    );
  }
  return fc.oneof(...options);
}

/** The part of better-sqlite3 used here (the package ships no types and none are installed). */
interface SqliteStatement { reader: boolean; all(params: Record<string, unknown>): unknown[]; run(params: Record<string, unknown>): unknown }
interface SqliteDb { exec(sql: string): void; prepare(sql: string): SqliteStatement; close(): void }
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Database = require('better-sqlite3') as new (file: string) => SqliteDb;

/** A raw connection to a fresh database with just the tables the compiled SQL reads. */
interface RawDb { dialect: Dialect; query(sql: string, params: Record<string, unknown>): Promise<Array<Record<string, unknown>>>; close(): Promise<void> }

async function openDb(kind: 'sqlite' | 'postgres'): Promise<RawDb> {
  const ddl = [
    'CREATE TABLE scim_resource (id varchar(36) PRIMARY KEY, created_at varchar(32))',
    'CREATE TABLE resource_attr (id integer, resource_id varchar(36), resource_type varchar(16), path varchar(512), value varchar(1024), value_full text, element integer)',
    'CREATE TABLE group_member (group_id varchar(36), member_id varchar(36), member_type varchar(16))',
  ];
  if (kind === 'sqlite') {
    const db = new Database(':memory:');
    ddl.forEach((s) => db.exec(s));
    return {
      dialect: 'sqlite',
      query: async (sql, params) => {
        const statement = db.prepare(sql);
        if (statement.reader) return statement.all(params) as Array<Record<string, unknown>>;
        statement.run(params);
        return [];
      },
      close: async () => { db.close(); },
    };
  }
  const test: TestDatabase = await testDatabase('postgres');
  const client = new Client({ connectionString: test.url });
  await client.connect();
  for (const s of ddl) await client.query(s);
  return {
    dialect: 'postgres',
    query: async (sql, params) => {
      const values: unknown[] = [];
      const text = sql.replace(/:(\w+)/g, (_, name: string) => { values.push(params[name]); return `$${values.length}`; });
      return (await client.query(text, values)).rows;
    },
    close: async () => { await client.end(); await test.drop(); },
  };
}

describe.each(storeKinds())('typed attributes: SQL agrees with evaluateFilter (%s)', (kind) => {
  let db: RawDb;
  const docs: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    db = await openDb(kind);
    const generated = fc.sample(docArb, { numRuns: 60, seed: SEED });
    let n = 0;
    for (const [i, ext] of generated.entries()) {
      const id = `u${String(i).padStart(3, '0')}`;
      const doc: Record<string, unknown> = { id, userName: id, [ACME]: ext };
      // As served: an empty element ({}) of a multi-valued attribute is unassigned and left out.
      docs.push(JSON.parse(JSON.stringify(doc), (_k, v: unknown) => (Array.isArray(v) ? v.filter((e) => !(e && typeof e === 'object' && !Array.isArray(e) && Object.keys(e).length === 0)) : v)));
      await db.query('INSERT INTO scim_resource (id, created_at) VALUES (:id, :c)', { id, c: String(i).padStart(4, '0') });
      // Indexed as stored: the JSON a client sent (no `undefined`), empty elements included.
      const rows = indexAttributes(JSON.parse(JSON.stringify(doc)), schema.normalise);
      for (const row of rows) {
        await db.query('INSERT INTO resource_attr (id, resource_id, resource_type, path, value, element) VALUES (:n, :r, :t, :p, :v, :e)',
          { n: n++, r: id, t: 'User', p: row.path, v: row.value, e: row.element });
      }
    }
  }, 30_000);

  afterAll(async () => {
    await db?.close();
  });

  it('returns exactly the documents evaluateFilter selects', async () => {
    await fc.assert(fc.asyncProperty(filterArb(PATHS, 2, true), async (filter) => {
      const text = formatFilter(filter);
      let expected: string[] | undefined;
      try {
        const predicate = compileInMemory(parseFilter(text), registry, 'User');
        expected = docs.filter((d) => predicate(d)).map((d) => d.id as string).sort();
      } catch (e) {
        if (!(e instanceof ScimError)) throw e;
        return;
      }
      const compiled = compileSql(parseFilter(text), db.dialect, schema);
      const rows = await db.query(`SELECT r.id FROM scim_resource r WHERE ${compiled.sql}`, compiled.params);
      expect({ text, ids: rows.map((r) => r.id as string).sort() }).toEqual({ text, ids: expected });
    }), { numRuns: Number(process.env.FILTER_FUZZ_RUNS ?? 300), seed: SEED });
  }, 30_000);

  it.each([
    ['level', 'number'], ['score', 'number'], ['hired', 'dateTime'], ['badge', 'string'], ['vip', 'boolean'], ['shifts', 'dateTime'], ['certs.value', 'dateTime'],
  ])('sorts by %s like a JS sort of the normalised values', async (attr) => {
    const target = schema.targetOf(registry.resolve('User', `${ACME}:${attr}`));
    const params: Record<string, unknown> = {};
    let n = 0;
    const expr = sortExpression(target, db.dialect, (v) => { params[`s${n}`] = v; return `:s${n++}`; });
    const rows = await db.query(`SELECT r.id AS id, ${expr} AS k FROM scim_resource r ORDER BY ${expr} ASC NULLS LAST, r.created_at`, params);
    const keys = rows.map((r) => r.k as string | null);
    const present = keys.filter((k): k is string => k !== null);
    // Byte-wise UTF-8 order is code point order; missing values last.
    const missing = keys.filter((k) => k === null);
    expect(keys).toEqual([...[...present].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))), ...missing]);
    expect(present.length).toBeGreaterThan(0);
  });
});
