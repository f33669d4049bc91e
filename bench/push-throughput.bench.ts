/**
 * Benchmark: pushes/s of a resync of already-synced users, with the unchanged-hash short-circuit on
 * (`live`: map → hash → equal → no HTTP call) and off (`force`: every mapped attribute sent as one
 * PATCH), plus `readBack` (GET, diff against the remote account; nothing to repair here).
 *
 *   npm run bench:push -- --users 1000 --concurrency 8
 *
 * Starts the lenient downstream app (scimmy, test/downstream) and Switchboard (role all, SQLite, own
 * Redis prefix) with one target, creates `--users` users through SCIM and waits until all are synced
 * there. Then, per mode, enqueues one push per user (the sweep's enqueue, one addBulk) and times until
 * the target's queue is empty. Prints a Markdown table for docs/benchmarks.md, with the machine's load.
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { buildAppConfig } from '../src/config/app-config.js';
import { loadEnv } from '../src/config/env.js';
import { DbService } from '../src/db/db.service.js';
import { startSwitchboard } from '../src/main.js';
import { JobQueueService } from '../src/pipeline/job-queue.service.js';
import { PushMode } from '../src/pipeline/job.types.js';
import { deleteKeysWithPrefix } from '../scripts/lib/redis-keys.js';
import { startScimmyApp } from '../test/downstream/scimmy-app.js';
import { sqliteDatabase } from '../test/utils/databases.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

async function main(): Promise<void> {
  const users = Number(arg('users', '1000'));
  const concurrency = Number(arg('concurrency', '8'));
  const db = sqliteDatabase();
  const prefix = `bench-${randomBytes(3).toString('hex')}`;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  process.env.BENCH_TOKEN = 'bench-token';
  process.env.BENCH_TARGET_TOKEN = 'bench-target-token';
  const app = await startScimmyApp({ token: 'bench-target-token' });
  const env = loadEnv({ DATABASE_URL: db.url, REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' });
  const config = buildAppConfig({
    clients: [{ id: 'bench', tokenEnv: 'BENCH_TOKEN', scopes: ['scim:read', 'scim:write'] }],
    targets: [{ id: 'lenient', baseUrl: app.url, auth: { type: 'bearer', tokenEnv: 'BENCH_TARGET_TOKEN' }, resourceTypes: ['User'], concurrency }],
    pipeline: { sweepIntervalMs: 3_600_000 },
  }, env);
  const sb = await startSwitchboard({ role: 'all', config, port: 0, host: '127.0.0.1' });
  const jobs = sb.app.get(JobQueueService);
  const store = sb.app.get(DbService);
  const queue = jobs.pushQueue('lenient');
  const idle = async () => {
    for (;;) {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Object.values(c).every(v => v === 0)) return;
      await sleep(20);
    }
  };
  try {
    const pool = new Pool(sb.url, { connections: 16 });
    const headers = { authorization: 'Bearer bench-token', 'content-type': 'application/scim+json' };
    const ids: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < users; i += 16) {
      const batch = await Promise.all(Array.from({ length: Math.min(16, users - i) }, async (_, k) => {
        const n = i + k;
        const r = await pool.request({ method: 'POST', path: '/scim/v2/Users', headers, body: JSON.stringify({
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENT], userName: `push${n}@bench.example.com`,
          name: { givenName: `Given${n}`, familyName: `Family${n}` }, displayName: `Given${n} Family${n}`, title: 'Engineer',
          emails: [{ value: `push${n}@bench.example.com`, type: 'work', primary: true }], active: true,
          [ENT]: { employeeNumber: String(100000 + n), department: 'R&D' },
        }) });
        const body = (await r.body.json()) as { id: string };
        if (r.statusCode !== 201) throw new Error(`POST /Users → ${r.statusCode}`);
        return body.id;
      }));
      ids.push(...batch);
    }
    await pool.close();
    for (;;) {
      const [row] = await store.manager.query(`SELECT COUNT(*) AS n FROM target_link WHERE status = 'synced'`) as Array<{ n: number | string }>;
      if (Number(row!.n) >= users) break;
      await sleep(200);
    }
    await idle();
    process.stderr.write(`  ${users} users created and synced in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

    const rows: string[] = [];
    for (const mode of ['live', 'force', 'readBack', 'live'] as PushMode[]) {
      const before = app.requests.length;
      const runId = randomBytes(3).toString('hex');
      const start = performance.now();
      await jobs.enqueuePushes('lenient', ids.map(resourceId => ({
        data: { targetId: 'lenient', resourceType: 'User' as const, resourceId, version: 0, mode, correlationId: `bench-${runId}` },
        trigger: { kind: 'sweep' as const, runId },
      })));
      await idle();
      const secs = (performance.now() - start) / 1000;
      const calls = app.requests.length - before;
      rows.push(`| \`${mode}\` | ${users} | ${calls} | ${secs.toFixed(2)} | ${Math.round(users / secs)} |`);
      process.stderr.write(`  ${mode}: ${Math.round(users / secs)} pushes/s (${calls} HTTP calls)\n`);
    }
    const [l1, l5] = loadavg();
    console.log(`| mode (${users} synced users, target concurrency ${concurrency}, ${new Date().toISOString().slice(0, 10)}) | pushes | HTTP calls | seconds | pushes/s |`);
    console.log('|---|---:|---:|---:|---:|');
    for (const r of rows) console.log(r);
    console.log(`\nLoad average during the run: ${l1.toFixed(1)} (1 min), ${l5.toFixed(1)} (5 min) on ${cpus().length} cores.`);
  } finally {
    await sb.close();
    await app.close();
    await deleteKeysWithPrefix(redisUrl, prefix).catch(() => undefined);
    await db.drop();
  }
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
