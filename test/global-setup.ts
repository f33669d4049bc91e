import { Client } from 'pg';
import { Redis } from 'ioredis';

/**
 * Jest global setup: checks the services the suites need. Redis is required. PostgreSQL is required in
 * CI; elsewhere, if it does not answer, the PostgreSQL variants are skipped with a message
 * (SB_TEST_POSTGRES=0) and the SQLite ones still run.
 */
export default async function globalSetup(): Promise<void> {
  const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
  } catch {
    throw new Error(`The tests need Redis at ${redisUrl} (set TEST_REDIS_URL). Debian/Ubuntu: apt-get install redis-server.`);
  } finally {
    r.disconnect();
  }
  const pgUrl = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const c = new Client({ connectionString: pgUrl, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    process.env.SB_TEST_POSTGRES = '1';
  } catch (e) {
    if (process.env.CI) throw new Error(`CI needs PostgreSQL at ${pgUrl}: ${(e as Error).message}`);
    process.env.SB_TEST_POSTGRES = '0';
    console.warn(`\nPostgreSQL does not answer at ${pgUrl} (set TEST_PG_ADMIN_URL): the PostgreSQL variants are skipped.\n`);
  } finally {
    await c.end().catch(() => undefined);
  }
}
