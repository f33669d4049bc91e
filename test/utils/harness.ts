import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { AppConfig, buildAppConfig } from '../../src/config/app-config.js';
import { loadEnv } from '../../src/config/env.js';
import { DbService } from '../../src/db/db.service.js';
import { JobQueueService } from '../../src/pipeline/job-queue.service.js';
import { pushQueueName, QueueName } from '../../src/pipeline/queue-names.js';
import { ReconcileSweepService } from '../../src/pipeline/reconcile-sweep.service.js';
import { RunningSwitchboard, startSwitchboard } from '../../src/main.js';
import { testDatabase, TestDatabase } from './databases.js';
import { deletePrefix, SHARED_REDIS_URL } from './redis.js';

export const CLIENT_TOKEN = 'test-client-token';
export const TARGET_TOKEN = 'test-target-token';

/** A target block for the test config. */
export type TargetDoc = Record<string, unknown> & { id: string; baseUrl: string };

/** An extra SCIM client for the test config; its token goes into its own env var. */
export interface TestClient { id: string; token: string; scopes: Array<'scim:read' | 'scim:write' | 'admin:read' | 'admin:write'> }

export interface HarnessOptions {
  db?: 'sqlite' | 'postgres';
  /** SCIM clients in addition to the default `idp` (read + write, CLIENT_TOKEN). */
  clients?: TestClient[];
  targets?: TargetDoc[];
  redisUrl?: string;
  pipeline?: Record<string, unknown>;
  /** More top-level `switchboard.yaml` keys (e.g. `hrSources`, `ownership`, `hr`). */
  extraConfig?: Record<string, unknown>;
}

/** A Switchboard (role all) on a fresh database and its own Redis prefix, plus SCIM helpers. */
export class Harness {
  sb!: RunningSwitchboard;
  config!: AppConfig;
  db!: TestDatabase;
  readonly prefix = `sbtest-${randomBytes(4).toString('hex')}`;

  constructor(private readonly opts: HarnessOptions = {}) {}

  static async start(opts: HarnessOptions = {}): Promise<Harness> {
    const h = new Harness(opts);
    await h.boot();
    return h;
  }

  get redisUrl(): string {
    return this.opts.redisUrl ?? SHARED_REDIS_URL;
  }

  private async boot(): Promise<void> {
    this.db ??= await testDatabase(this.opts.db ?? 'sqlite');
    process.env.SB_TEST_CLIENT_TOKEN = CLIENT_TOKEN;
    process.env.SB_TEST_TARGET_TOKEN = TARGET_TOKEN;
    const extra = (this.opts.clients ?? []).map((c, i) => {
      const tokenEnv = `SB_TEST_CLIENT_TOKEN_${i + 1}`;
      process.env[tokenEnv] = c.token;
      return { id: c.id, tokenEnv, scopes: c.scopes };
    });
    const env = loadEnv({ DATABASE_URL: this.db.url, REDIS_URL: this.redisUrl, QUEUE_PREFIX: this.prefix, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', PORT: '0' });
    this.config = buildAppConfig({
      clients: [
        { id: 'idp', tokenEnv: 'SB_TEST_CLIENT_TOKEN', scopes: ['scim:read', 'scim:write'] },
        ...extra,
      ],
      targets: (this.opts.targets ?? []).map(t => ({ auth: { type: 'bearer', tokenEnv: 'SB_TEST_TARGET_TOKEN' }, ...t })),
      pipeline: { relayIntervalMs: 50, sweepIntervalMs: 3_600_000, ...this.opts.pipeline },
      ...this.opts.extraConfig,
    }, env);
    this.sb = await startSwitchboard({ role: 'all', config: this.config, port: 0, host: '127.0.0.1' });
  }

  /** Restarts the process with other targets (same database and prefix), as a redeploy would. */
  async restart(targets: TargetDoc[]): Promise<void> {
    await this.sb.close();
    this.opts.targets = targets;
    await this.boot();
  }

  get<T>(cls: new (...args: never[]) => T): T {
    return this.sb.app.get(cls);
  }

  /** One SCIM call to Switchboard's /scim/v2. */
  async scim(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
    const res = await request(`${this.sb.url}/scim/v2${path}`, {
      method: method as 'GET',
      headers: { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/scim+json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }

  /** Runs the reconcile sweep now. */
  sweep(): Promise<number> {
    return this.get(ReconcileSweepService).sweep();
  }

  /** True when nothing is left to do: outbox published, every queue empty (dead letters aside). */
  async idle(): Promise<boolean> {
    const db = this.get(DbService);
    const [{ n }] = await db.manager.query('SELECT COUNT(*) AS n FROM change_event WHERE published_at IS NULL');
    if (Number(n) > 0) return false;
    const jobs = this.get(JobQueueService);
    for (const name of [QueueName.Changes, ...this.config.targets.map(t => pushQueueName(t.id))]) {
      const c = await jobs.queue(name).getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
      if (Object.values(c).some(v => v > 0)) return false;
    }
    return true;
  }

  /** Waits until `idle()` holds twice in a row (a finishing job may enqueue a follow-up). */
  async drain(timeoutMs = 30_000): Promise<void> {
    await waitFor(async () => (await this.idle()) && (await sleep(100), await this.idle()), timeoutMs, 'pipeline to drain');
  }

  async close(): Promise<void> {
    await this.sb?.close();
    await deletePrefix(this.redisUrl, this.prefix).catch(() => undefined);
    await this.db?.drop();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise(r => setTimeout(r, ms));
}

/** Polls `cond` every 50 ms until true; fails with `what` after `timeoutMs`. */
export async function waitFor(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}
