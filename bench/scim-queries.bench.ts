/**
 * Benchmark: SCIM list/filter latency at enterprise size, O(1) group membership changes, and the SQL
 * plan of a 3-clause `and` (the former `IN`-list intersection against the driven plan).
 *
 *   npm run bench:queries -- --db sqlite --users 100000
 *   npm run bench:queries -- --db postgres --users 100000
 *
 * Loads realistic users (two emails, name, title, enterprise attributes) and a group of all of them as
 * the write path stores them (bench/bulk-load.ts), waits until the outbox is drained (the worker is
 * idle: no targets are configured, and on
 * PostgreSQL the process runs role `api`), then measures p50/p99 over HTTP (undici, one keep-alive
 * connection, sequential, `count=10`) of: userName eq, emails.value eq, externalId eq, a `co` filter, a
 * 3-clause `and`; and PATCH add/remove of one member on a group holding every user. Prints Markdown
 * tables for docs/benchmarks.md.
 *
 * Options: --db sqlite|postgres, --users N (100000), --queries N per row (300; the 3-clause `and`:
 * --and-queries, 50), --keep (leave the
 * database, print its URL), --reuse <DATABASE_URL> (a database left by --keep: topped up to --users).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { buildAppConfig } from '../src/config/app-config.js';
import { loadEnv } from '../src/config/env.js';
import { DbService } from '../src/db/db.service.js';
import { ResourceService } from '../src/identity/resource.service.js';
import { ScimResourceEntity } from '../src/identity/scim-resource.entity.js';
import { startSwitchboard } from '../src/main.js';
import { parseFilter } from '../src/scim/filter/filter.parser.js';
import { compileFilter } from '../src/scim/query/filter-sql.js';
import { IndexSchema } from '../src/scim/query/index-schema.js';
import { SchemaRegistry } from '../src/scim/schema/schema-registry.js';
import { deleteKeysWithPrefix } from '../scripts/lib/redis-keys.js';
import { postgresDatabase, sqliteDatabase, type TestDatabase } from '../test/utils/databases.js';
import { bulkAddMembers, bulkLoadUsers } from './bulk-load.js';
import { arg, DEPTS, ENT, flag, percentile, sorted, waitForOutbox } from './bench-util.js';

async function main(): Promise<void> {
  const kind = arg('db', 'sqlite') as 'sqlite' | 'postgres';
  const users = Number(arg('users', '100000'));
  const queries = Number(arg('queries', '300'));
  const andQueries = Number(arg('and-queries', '50'));
  const reuse = arg('reuse', '');
  const db: TestDatabase = reuse
    ? { kind, url: reuse, drop: async () => undefined }
    : kind === 'sqlite' ? sqliteDatabase() : await postgresDatabase();
  const prefix = `bench-${randomBytes(3).toString('hex')}`;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  process.env.BENCH_TOKEN = 'bench-token';
  const env = loadEnv({ DATABASE_URL: db.url, REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' });
  const config = buildAppConfig({ clients: [{ id: 'bench', tokenEnv: 'BENCH_TOKEN', scopes: ['scim:read', 'scim:write'] }] }, env);
  // SQLite serves one process (role all): no targets, and the outbox is drained before measuring.
  const sb = await startSwitchboard({ role: kind === 'postgres' ? 'api' : 'all', config, port: 0, host: '127.0.0.1' });
  const resources = sb.app.get(ResourceService);
  const store = sb.app.get(DbService);
  const ctx = { origin: 'bench', correlationId: 'bench' };
  try {
    const t0 = performance.now();
    let ids: string[] = [];
    let loadLine: string;
    // --reuse: top up a database left by --keep (or an interrupted run) to --users.
    const existing: Array<{ id: string }> = reuse
      ? await store.manager.query(`SELECT id FROM scim_resource WHERE resource_type = 'User' AND deleted_at IS NULL ORDER BY created_at, id`)
      : [];
    ids = existing.map(r => r.id);
    if (ids.length < users) {
      ids.push(...await bulkLoadUsers(store, users, (done) => {
        if (done % 10000 === 0) process.stderr.write(`  loaded ${done} users (${Math.round((done - existing.length) / ((performance.now() - t0) / 1000))}/s)\n`);
      }, ids.length));
    }
    const loadSecs = (performance.now() - t0) / 1000;
    loadLine = `${users} users (${users - existing.length} bulk-loaded in ${loadSecs.toFixed(1)} s)`;
    let [group] = await store.manager.query(`SELECT id FROM scim_resource WHERE resource_type = 'Group' AND display_key = 'everyone'`) as Array<{ id: string }>;
    group ??= await resources.create('Group', { doc: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'everyone' } }, ctx);
    const [members] = await store.manager.query('SELECT COUNT(*) AS n FROM group_member WHERE group_id = $1'.replace('$1', kind === 'postgres' ? '$1' : '?'), [group.id]) as Array<{ n: string | number }>;
    if (Number(members!.n) !== ids.length) await bulkAddMembers(store, group.id, ids);
    if (kind === 'sqlite') await waitForOutbox(store, 'outbox drained');

    const pool = new Pool(sb.url, { connections: 1 });
    const headers = { authorization: 'Bearer bench-token', 'content-type': 'application/scim+json' };
    const time = async (fn: (i: number) => Promise<void>, times = queries): Promise<number[]> => {
      const out: number[] = [];
      for (let q = 0; q < times; q++) {
        const s = performance.now();
        await fn(q);
        out.push(performance.now() - s);
      }
      return sorted(out);
    };
    const list = async (filter: string) => {
      const r = await pool.request({ method: 'GET', path: `/scim/v2/Users?count=10&filter=${encodeURIComponent(filter)}`, headers });
      await r.body.text();
      if (r.statusCode !== 200) throw new Error(`${filter} → ${r.statusCode}`);
    };
    const n = ids.length;
    const rnd = () => Math.floor(Math.random() * n);
    const andFilter = () => `title eq "Manager" and active eq true and ${ENT}:department eq "${DEPTS[rnd() % DEPTS.length]}"`;
    const rows: Array<[string, number[]]> = [];
    rows.push(['`userName eq`', await time(() => list(`userName eq "user${rnd()}@bench.example.com"`))]);
    rows.push(['`emails.value eq`', await time(() => list(`emails.value eq "u${rnd()}@home.example.org"`))]);
    rows.push(['`externalId eq`', await time(() => list(`externalId eq "ext-${rnd()}"`))]);
    rows.push(['`displayName co` (no match)', await time(() => list(`displayName co "Family${rnd() % 5000} "`))]);
    rows.push(['3-clause `and` (10 % × 98 % × 12 %, counted in full)', await time(() => list(andFilter()), andQueries)]);
    const patch = (op: 'add' | 'remove', id: string) => pool.request({
      method: 'PATCH', path: `/scim/v2/Groups/${group.id}`, headers,
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [op === 'add' ? { op, path: 'members', value: [{ value: id }] } : { op, path: `members[value eq "${id}"]` }] }),
    }).then(async r => { await r.body.text(); if (r.statusCode >= 300) throw new Error(`PATCH ${op} → ${r.statusCode}`); });
    rows.push([`PATCH remove one member (${n}-member group)`, await time(q => patch('remove', ids[q]!))]);
    rows.push([`PATCH add one member (${n}-member group)`, await time(q => patch('add', ids[q]!))]);
    await pool.close();

    // The 3-clause `and` as SQL, former plan (every clause an IN list) against the driven one.
    const schema = new IndexSchema(new SchemaRegistry(), 'User');
    const dialect = kind === 'postgres' ? 'postgres' : 'sqlite';
    const plans: string[] = [];
    for (const conjunctions of ['intersect', 'drive'] as const) {
      const build = (text: string) => {
        const compiled = compileFilter(parseFilter(text), dialect, schema, { conjunctions });
        return store.manager.createQueryBuilder(ScimResourceEntity, 'r')
          .where(`${dialect === 'sqlite' ? '+r.resource_type' : 'r.resource_type'} = :type AND r.deleted_at IS NULL`, { type: 'User' })
          .andWhere(compiled.sql, compiled.params);
      };
      const counts: number[] = [];
      const pages: number[] = [];
      let total = 0;
      for (let q = 0; q < Math.min(andQueries, 20); q++) {
        const text = andFilter();
        let s = performance.now();
        total = await build(text).getCount();
        counts.push(performance.now() - s);
        s = performance.now();
        await build(text).orderBy('r.created_at', 'ASC').addOrderBy('r.id', 'ASC').limit(10).getMany();
        pages.push(performance.now() - s);
      }
      const [sql, params] = build(andFilter()).select('COUNT(*)').getQueryAndParameters();
      const explain = dialect === 'sqlite'
        ? (await store.manager.query(`EXPLAIN QUERY PLAN ${sql}`, params) as Array<{ detail: string }>).map(r => r.detail).join('\n')
        : (await store.manager.query(`EXPLAIN (ANALYZE, COSTS OFF) ${sql}`, params) as Array<Record<string, string>>).map(r => Object.values(r)[0]).join('\n');
      plans.push(`-- ${conjunctions}: count p50 ${percentile(sorted(counts), 50).toFixed(1)} ms, page p50 ${percentile(sorted(pages), 50).toFixed(1)} ms (${total} matches)\n${explain}`);
    }

    console.log(`\n${kind}: ${loadLine}; ${queries} requests per row`);
    console.log(`| ${kind}, ${n} users | p50 ms | p99 ms |\n|---|---:|---:|`);
    for (const [name, t] of rows) console.log(`| ${name} | ${percentile(t, 50).toFixed(2)} | ${percentile(t, 99).toFixed(2)} |`);
    console.log(`\n3-clause and, SQL only:\n${plans.join('\n\n')}`);
    if (flag('keep')) console.log(`\nkept: --reuse ${db.url}`);
  } finally {
    await sb.close();
    await deleteKeysWithPrefix(redisUrl, prefix);
    if (!flag('keep')) await db.drop();
  }
}

main().then(() => process.exit(0), e => { console.error(e); process.exit(1); });
