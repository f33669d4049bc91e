/**
 * Benchmark: SCIM list/filter latency at enterprise size, and O(1) group membership changes.
 *
 *   npm run build && node dist/bench/scim-queries.bench.js --db sqlite --users 100000
 *   node dist/bench/scim-queries.bench.js --db postgres --users 100000
 *
 * Loads realistic users (emails, enterprise attributes) through the real write path in-process, then
 * measures p50/p99 over HTTP (undici, one connection, sequential) of: userName eq, emails.value eq,
 * externalId eq, a `co` filter, a 3-clause `and`; and PATCH add/remove of one member on a group that
 * has every user as a member. Prints a table; numbers go to docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { buildAppConfig } from '../src/config/app-config.js';
import { loadEnv } from '../src/config/env.js';
import { ResourceService } from '../src/identity/resource.service.js';
import { startSwitchboard } from '../src/main.js';
import { deleteKeysWithPrefix } from '../scripts/lib/redis-keys.js';
import { postgresDatabase, sqliteDatabase } from '../test/utils/databases.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const DEPTS = ['R&D', 'Sales', 'Finance', 'Support', 'Marketing', 'People', 'Legal', 'Operations'];

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function user(i: number): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENT],
    userName: `user${i}@bench.example.com`, externalId: `ext-${i}`,
    name: { givenName: `Given${i}`, familyName: `Family${i % 5000}` }, displayName: `Given${i} Family${i % 5000}`,
    emails: [{ value: `user${i}@bench.example.com`, type: 'work', primary: true }, { value: `u${i}@home.example.org`, type: 'home' }],
    title: i % 10 ? 'Engineer' : 'Manager', active: i % 50 !== 0,
    [ENT]: { employeeNumber: String(100000 + i), department: DEPTS[i % DEPTS.length], costCenter: `CC-${i % 97}` },
  };
}

async function main(): Promise<void> {
  const kind = arg('db', 'sqlite') as 'sqlite' | 'postgres';
  const users = Number(arg('users', '100000'));
  const queries = Number(arg('queries', '300'));
  const db = kind === 'sqlite' ? sqliteDatabase() : await postgresDatabase();
  const prefix = `bench-${randomBytes(3).toString('hex')}`;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  process.env.BENCH_TOKEN = 'bench-token';
  const env = loadEnv({ DATABASE_URL: db.url, REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' });
  const config = buildAppConfig({ clients: [{ id: 'bench', tokenEnv: 'BENCH_TOKEN', scopes: ['scim:read', 'scim:write'] }] }, env);
  // Role api: the pipeline is not under test here (no targets), only the store and the SCIM layer.
  const sb = await startSwitchboard({ role: kind === 'postgres' ? 'api' : 'all', config, port: 0, host: '127.0.0.1' });
  const resources = sb.app.get(ResourceService);
  const ctx = { origin: 'bench', correlationId: 'bench' };
  try {
    const t0 = performance.now();
    const ids: string[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: kind === 'postgres' ? 8 : 1 }, async () => {
      while (next < users) {
        const i = next++;
        const r = await resources.create('User', { doc: user(i) }, ctx);
        ids[i] = r.id;
        if (i % 10000 === 0 && i) process.stderr.write(`  loaded ${i} users (${Math.round(i / ((performance.now() - t0) / 1000))}/s)\n`);
      }
    }));
    const loadSecs = (performance.now() - t0) / 1000;
    const group = await resources.create('Group', { doc: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'everyone' }, members: ids.map(value => ({ value, type: 'User' })) }, ctx);

    const pool = new Pool(sb.url, { connections: 1 });
    const headers = { authorization: 'Bearer bench-token', 'content-type': 'application/scim+json' };
    const time = async (fn: (i: number) => Promise<void>): Promise<number[]> => {
      const out: number[] = [];
      for (let q = 0; q < queries; q++) {
        const s = performance.now();
        await fn(q);
        out.push(performance.now() - s);
      }
      return out.sort((a, b) => a - b);
    };
    const list = (filter: string) => async () => {
      const r = await pool.request({ method: 'GET', path: `/scim/v2/Users?count=10&filter=${encodeURIComponent(filter)}`, headers });
      const body = (await r.body.json()) as { totalResults: number };
      if (r.statusCode !== 200) throw new Error(`${filter} → ${r.statusCode}`);
      void body;
    };
    const rnd = () => Math.floor(Math.random() * users);
    const rows: Array<[string, number[]]> = [];
    rows.push(['userName eq', await time(() => list(`userName eq "user${rnd()}@bench.example.com"`)())]);
    rows.push(['emails.value eq', await time(() => list(`emails.value eq "u${rnd()}@home.example.org"`)())]);
    rows.push(['externalId eq', await time(() => list(`externalId eq "ext-${rnd()}"`)())]);
    rows.push(['displayName co', await time(() => list(`displayName co "Family${rnd() % 5000} "`)())]);
    rows.push(['3-clause and', await time(() => list(`title eq "Manager" and active eq true and ${ENT}:department eq "${DEPTS[rnd() % DEPTS.length]}"`)())]);
    const patch = (op: 'add' | 'remove', id: string) => pool.request({
      method: 'PATCH', path: `/scim/v2/Groups/${group.id}`, headers,
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [op === 'add' ? { op, path: 'members', value: [{ value: id }] } : { op, path: `members[value eq "${id}"]` }] }),
    }).then(async r => { await r.body.text(); if (r.statusCode >= 300) throw new Error(`PATCH ${op} → ${r.statusCode}`); });
    rows.push([`member remove (${users} members)`, await time(q => patch('remove', ids[q]))]);
    rows.push([`member add (${users} members)`, await time(q => patch('add', ids[q]))]);
    await pool.close();

    console.log(`\n${kind}: ${users} users loaded in ${loadSecs.toFixed(1)} s (${Math.round(users / loadSecs)}/s through the write path); ${queries} requests per row`);
    console.log(`| query (${kind}, ${users} users) | p50 ms | p99 ms |\n|---|---:|---:|`);
    for (const [name, t] of rows) console.log(`| ${name} | ${pct(t, 50).toFixed(2)} | ${pct(t, 99).toFixed(2)} |`);
  } finally {
    await sb.close();
    await deleteKeysWithPrefix(redisUrl, prefix);
    await db.drop();
  }
}

main().then(() => process.exit(0), e => { console.error(e); process.exit(1); });
