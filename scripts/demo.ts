/**
 * `npm run demo`: Switchboard end to end on this machine — gateway (role all, SQLite under ./var/demo),
 * three real downstream SCIM apps, an Okta/Entra-shaped provisioning sequence, read-back verification
 * and a summary. Uses the Redis at REDIS_URL (default redis://127.0.0.1:6379); if none answers and
 * `redis-server` is installed, runs a private one under ./var/demo and stops it at the end.
 * Exits 1 if anything did not converge.
 */
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { runDemo } from './demo/run-demo.js';
import { deleteKeysWithPrefix } from './lib/redis-keys.js';

const VAR = resolve('var/demo');

async function redisAnswers(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  r.on('error', () => undefined);
  try { await r.connect(); await r.ping(); return true; } catch { return false; } finally { r.disconnect(); }
}

async function privateRedis(): Promise<{ url: string; proc: ChildProcess } | undefined> {
  if (spawnSync('redis-server', ['--version']).status !== 0) return undefined;
  const port = 6390 + Math.floor(Math.random() * 500);
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', VAR], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(url)) return { url, proc };
    await new Promise(r => setTimeout(r, 100));
  }
  proc.kill();
  return undefined;
}

async function main(): Promise<number> {
  const users = Number(process.env.DEMO_USERS ?? 200);
  mkdirSync(VAR, { recursive: true });
  const dbFile = resolve(VAR, 'switchboard.sqlite');
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) rmSync(f, { force: true });
  let redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  let own: ChildProcess | undefined;
  if (!(await redisAnswers(redisUrl))) {
    const started = await privateRedis();
    if (!started) {
      console.error(`No Redis answers at ${redisUrl} and redis-server is not installed.\nInstall it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) or set REDIS_URL, then run npm run demo again.`);
      return 2;
    }
    redisUrl = started.url;
    own = started.proc;
    console.log(`No Redis at the default address: started a private redis-server at ${redisUrl} (stopped at the end).`);
  }
  const prefix = `demo-${randomBytes(3).toString('hex')}`;
  try {
    console.log(`Switchboard demo: ${users} users, 6 groups, 3 downstream SCIM apps\n`);
    const result = await runDemo({ users, databaseUrl: `sqlite:${dbFile}`, redisUrl, queuePrefix: prefix, configFile: resolve(VAR, 'switchboard.yaml'), log: l => console.log(l) });
    console.log(`\n${result.summary}\n`);
    console.log(`${result.requests} SCIM requests replayed; all targets ${result.converged ? 'converged' : 'did NOT converge'} in ${(result.elapsedMs / 1000).toFixed(1)} s (verified by reading every target back over SCIM).`);
    if (!result.converged) {
      console.error(result.problems.slice(0, 30).map(p => `  - ${p}`).join('\n'));
      return 1;
    }
    return 0;
  } finally {
    await deleteKeysWithPrefix(redisUrl, prefix).catch(() => undefined);
    own?.kill();
  }
}

main().then(code => process.exit(code), e => { console.error(e); process.exit(1); });
