/**
 * Benchmark: POST /Users throughput and latency under concurrent clients (autocannon), SQLite and
 * PostgreSQL. Every request creates a distinct realistic user (bench-util `benchUser`) through the full
 * HTTP + write path (resource, attribute index, outbox row in one transaction).
 *
 *   npm run bench:post -- --db sqlite
 *   npm run bench:post -- --db postgres --reuse postgres://…   (a database left by scim-queries --keep)
 *
 * Options: --db sqlite|postgres, --connections N (32), --duration seconds (20), --reuse <DATABASE_URL>.
 * SQLite runs role `all` (its worker relays the outbox meanwhile, no targets); PostgreSQL role `api`.
 */
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { buildAppConfig } from '../src/config/app-config.js';
import { loadEnv } from '../src/config/env.js';
import { startSwitchboard } from '../src/main.js';
import { deleteKeysWithPrefix } from '../scripts/lib/redis-keys.js';
import { postgresDatabase, sqliteDatabase, type TestDatabase } from '../test/utils/databases.js';
import { arg, benchUser } from './bench-util.js';

async function main(): Promise<void> {
  const kind = arg('db', 'sqlite') as 'sqlite' | 'postgres';
  const connections = Number(arg('connections', '32'));
  const duration = Number(arg('duration', '20'));
  const reuse = arg('reuse', '');
  const db: TestDatabase = reuse ? { kind, url: reuse, drop: async () => undefined } : kind === 'sqlite' ? sqliteDatabase() : await postgresDatabase();
  const prefix = `bench-${randomBytes(3).toString('hex')}`;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  process.env.BENCH_TOKEN = 'bench-token';
  const env = loadEnv({ DATABASE_URL: db.url, REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' });
  const config = buildAppConfig({ clients: [{ id: 'bench', tokenEnv: 'BENCH_TOKEN', scopes: ['scim:read', 'scim:write'] }] }, env);
  const sb = await startSwitchboard({ role: kind === 'postgres' ? 'api' : 'all', config, port: 0, host: '127.0.0.1' });
  const tag = `p${randomBytes(3).toString('hex')}-`;
  let next = 0;
  try {
    const result = await autocannon({
      url: sb.url,
      connections,
      duration,
      requests: [{
        method: 'POST',
        path: '/scim/v2/Users',
        headers: { authorization: 'Bearer bench-token', 'content-type': 'application/scim+json' },
        setupRequest: (req: Record<string, unknown>) => ({ ...req, body: JSON.stringify(benchUser(next++, tag)) }),
      }],
    });
    const ok = result.requests.total - result.non2xx;
    console.log(`\n${kind}: POST /Users, ${connections} connections, ${result.duration.toFixed(0)} s${reuse ? ' (on the loaded database)' : ' (empty database)'}`);
    console.log('| database | created/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|');
    console.log(`| ${kind} | ${(ok / result.duration).toFixed(0)} | ${result.latency.p50} | ${result.latency.p90} | ${result.latency.p99} | ${result.latency.max} | ${result.non2xx} | ${result.errors + result.timeouts} |`);
  } finally {
    await sb.close();
    await deleteKeysWithPrefix(redisUrl, prefix);
    await db.drop();
  }
}

main().then(() => process.exit(0), e => { console.error(e); process.exit(1); });
