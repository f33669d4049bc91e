import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, AppConfig, TargetConfig } from '../config/app-config.js';
import { DeletionGuardConfig, normaliseDeletionGuard } from '../config/deletion-guard.dto.js';
import { nowIso } from '../common/clock.js';
import { DbService } from '../db/db.service.js';
import { MetricsService } from '../ops/metrics.service.js';
import { JobQueueService } from '../pipeline/job-queue.service.js';
import { PushJobData } from '../pipeline/job.types.js';
import { TargetStateService } from './target-state.service.js';

/** What the guard says about one deprovision: go ahead, hold it (target quarantined), or drop it (operator rejected). */
export type GuardDecision = 'proceed' | 'hold' | 'reject';

/** A target's guard state, for the admin API. */
export interface DeletionGuardStatus {
  targetId: string;
  quarantined: boolean;
  /** ISO instant the quarantine began. */
  since: string | null;
  reason: string | null;
  /** Distinct resources deprovisioned in the current window. */
  windowCount: number;
  /** Distinct resources whose deprovision is held (seen by a worker while quarantined). */
  held: number;
  limits: DeletionGuardConfig;
}

/** Thrown by approve / reject when the target is not quarantined (admin API: 409). */
export class DeletionGuardError extends Error {
  constructor(readonly code: 'unknown_target' | 'not_quarantined', message: string) {
    super(message);
    this.name = 'DeletionGuardError';
  }
}

/** Seconds an operator's approval or rejection of a held resource stays valid. */
const DECISION_TTL_S = 86_400;
/** How long a call waits for the producer connection after start, ms. */
const READY_TIMEOUT_MS = 5000;
/** How long the linked-resource count (the percentage base) is reused, ms. */
const LINKED_CACHE_MS = 10_000;

/**
 * Atomic admission of one deprovision (Redis Lua, so every worker process sees one count).
 * KEYS: window zset, quarantine, approved set, rejected set, held set.
 * ARGV: resource id, now ms, window start ms, limit (distinct resources allowed in the window), reason.
 * Returns proceed | hold | reject | trip (this call quarantined the target).
 */
const ADMIT_LUA = `
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then redis.call('SREM', KEYS[3], ARGV[1]); return 'proceed' end
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1 then redis.call('SREM', KEYS[4], ARGV[1]); return 'reject' end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('SADD', KEYS[5], ARGV[1]); return 'hold' end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 'proceed' end
if redis.call('ZCARD', KEYS[1]) + 1 > tonumber(ARGV[4]) then
  redis.call('SET', KEYS[2], ARGV[5])
  redis.call('SADD', KEYS[5], ARGV[1])
  return 'trip'
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 'proceed'
`;

/**
 * Mass-deletion guard (issue 4, Safety). Every deprovision (disable or delete of an account that is
 * active at the target) asks `admit()` first. Within a sliding window of `windowMinutes`, more than
 * `maxDeprovisions` distinct resources — or more than `maxPercent` % of the target's linked resources,
 * once it has `minLinkedForPercent` of them — quarantines the target: its push queue is paused, the
 * `switchboard_target_quarantined{target}` gauge goes to 1, a `target.quarantined` log event is written,
 * and every deprovision is held (the push is re-enqueued behind the pause; no attempt is spent) until an
 * operator calls `approve` (held deprovisions proceed, window reset) or `reject` (held deprovisions
 * become recorded skips, links stay). State lives in Redis (shared by all workers) and in `target_state`
 * (survives a Redis that lost its data); a restarted worker adopts it.
 */
@Injectable()
export class DeletionGuardService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(DeletionGuardService.name);
  private readonly linked = new Map<string, { n: number; at: number }>();
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DbService,
    private readonly jobs: JobQueueService,
    private readonly states: TargetStateService,
    private readonly metrics: MetricsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.adopt().catch(e => this.log.warn(`Could not adopt quarantines: ${(e as Error).message}`));
    // Keeps this process's gauge in line with quarantines other processes raised or lifted.
    this.timer = setInterval(() => void this.refreshGauges().catch(() => undefined), 5000).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * Asks to deprovision `resourceId` at `target`. Counts distinct resources: a retry of an admitted
   * deprovision proceeds without counting again. 'hold' means the target is quarantined.
   */
  async admit(target: TargetConfig, resourceId: string): Promise<GuardDecision> {
    const g = target.deletionGuard ?? normaliseDeletionGuard(undefined);
    const keys = this.keys(target.id);
    if (!g.enabled) {
      // Operator decisions taken while the guard was on still apply.
      const redis = await this.redis();
      const [approved, rejected] = await Promise.all([redis.srem(keys.approved, resourceId), redis.srem(keys.rejected, resourceId)]);
      return rejected && !approved ? 'reject' : 'proceed';
    }
    const linked = await this.linkedCount(target.id);
    const byPercent = linked >= g.minLinkedForPercent ? Math.floor((g.maxPercent / 100) * linked) : Infinity;
    const limit = Math.min(g.maxDeprovisions, byPercent);
    const now = Date.now();
    const reason = `more than ${limit} deprovisions within ${g.windowMinutes} min (limit: ${g.maxDeprovisions}, or ${g.maxPercent} % of ${linked} linked)`;
    const r = await (await this.redis()).eval(
      ADMIT_LUA, 5, keys.window, keys.quarantine, keys.approved, keys.rejected, keys.held,
      resourceId, String(now), String(now - g.windowMinutes * 60_000), String(limit), JSON.stringify({ since: new Date(now).toISOString(), reason }),
    ) as 'proceed' | 'hold' | 'reject' | 'trip';
    if (r === 'trip') {
      await this.quarantine(target, new Date(now).toISOString(), reason, linked, limit);
      return 'hold';
    }
    if (r === 'hold') {
      // Something (a circuit probe) may have resumed the queue: keep it paused while quarantined.
      if (!(await this.jobs.pushQueue(target.id).isPaused())) await this.jobs.pushQueue(target.id).pause();
      this.metrics.deprovisionsHeld.inc({ target: target.id, decision: 'held' });
    }
    if (r === 'reject') this.metrics.deprovisionsHeld.inc({ target: target.id, decision: 'rejected' });
    return r;
  }

  /** Whether the target is quarantined (one Redis read; for the circuit, which must not resume a quarantined queue). */
  async isQuarantined(targetId: string): Promise<boolean> {
    return (await (await this.redis()).exists(this.keys(targetId).quarantine)) === 1;
  }

  /** The guard state of a target. @throws DeletionGuardError unknown_target */
  async status(targetId: string): Promise<DeletionGuardStatus> {
    const target = this.target(targetId);
    const keys = this.keys(targetId);
    const g = target.deletionGuard ?? normaliseDeletionGuard(undefined);
    const redis = await this.redis();
    const from = Date.now() - g.windowMinutes * 60_000;
    const [raw, windowCount, held, row] = await Promise.all([
      redis.get(keys.quarantine), redis.zcount(keys.window, `(${from}`, '+inf'), redis.scard(keys.held), this.states.get(targetId),
    ]);
    const q = raw ? (JSON.parse(raw) as { since: string; reason: string }) : row?.quarantinedAt ? { since: row.quarantinedAt, reason: row.quarantineReason ?? '' } : undefined;
    return { targetId, quarantined: !!q, since: q?.since ?? null, reason: q?.reason ?? null, windowCount, held, limits: g };
  }

  /**
   * Lets the held deprovisions proceed (those seen by a worker and those still waiting in the paused
   * queue), resets the window and resumes the queue (unless the circuit is open). @throws DeletionGuardError
   */
  async approve(targetId: string, by: string): Promise<DeletionGuardStatus> {
    return this.decide(targetId, by, 'approved');
  }

  /**
   * Drops the held deprovisions: each becomes a recorded skip when its push runs, its link stays as it
   * is; resets the window and resumes the queue (unless the circuit is open). A later change of such a resource is judged afresh.
   * @throws DeletionGuardError
   */
  async reject(targetId: string, by: string): Promise<DeletionGuardStatus> {
    return this.decide(targetId, by, 'rejected');
  }

  private async decide(targetId: string, by: string, decision: 'approved' | 'rejected'): Promise<DeletionGuardStatus> {
    const target = this.target(targetId);
    const before = await this.status(targetId);
    if (!before.quarantined) throw new DeletionGuardError('not_quarantined', `target ${targetId} is not quarantined`);
    const keys = this.keys(targetId);
    const redis = await this.redis();
    // Held = seen by a worker while quarantined, plus every push still waiting behind the pause. Only
    // deprovisions consult these sets, so an id whose push turns out to be an update is harmless (TTL).
    const ids = new Set(await redis.smembers(keys.held));
    for (const id of await this.waitingResourceIds(targetId)) ids.add(id);
    const into = decision === 'approved' ? keys.approved : keys.rejected;
    const list = [...ids];
    for (let i = 0; i < list.length; i += 1000) await redis.sadd(into, ...list.slice(i, i + 1000));
    if (list.length) await redis.expire(into, DECISION_TTL_S);
    await redis.del(keys.held, keys.window, keys.quarantine);
    await this.states.setQuarantine(targetId, null, null);
    this.metrics.targetQuarantined.set({ target: targetId }, 0);
    // An open circuit keeps the queue paused; its probe resumes it. (Its Redis hash, circuit.service.ts —
    // read directly: CircuitService asks this service whether a target is quarantined.)
    const circuit = await redis.hget(`${this.config.env.queuePrefix}:circuit:${targetId}`, 'state').catch(() => null);
    if (circuit !== 'open' && circuit !== 'half-open') await this.jobs.pushQueue(targetId).resume();
    this.log.warn({ event: `target.quarantine-${decision}`, targetId, by, held: list.length }, `Deletion guard: ${by} ${decision} ${list.length} held deprovisions at target ${target.id}`);
    return this.status(targetId);
  }

  private async quarantine(target: TargetConfig, since: string, reason: string, linked: number, limit: number): Promise<void> {
    await this.states.setQuarantine(target.id, since, reason);
    await this.jobs.pushQueue(target.id).pause();
    this.metrics.targetQuarantined.set({ target: target.id }, 1);
    this.metrics.targetQuarantines.inc({ target: target.id });
    this.metrics.deprovisionsHeld.inc({ target: target.id, decision: 'held' });
    this.log.error(
      { event: 'target.quarantined', targetId: target.id, limit, linked, windowMinutes: (target.deletionGuard ?? normaliseDeletionGuard(undefined)).windowMinutes },
      `Deletion guard quarantined target ${target.id}: ${reason}; its queue is paused until an operator approves or rejects`,
    );
  }

  /** At start: quarantines recorded in SQL or Redis hold on both sides, and their queues stay paused. */
  private async adopt(): Promise<void> {
    const rows = new Map((await this.states.all()).map(r => [r.targetId, r]));
    const redis = await this.redis();
    for (const t of this.config.targets) {
      const keys = this.keys(t.id);
      const raw = await redis.get(keys.quarantine);
      const row = rows.get(t.id);
      if (!raw && !row?.quarantinedAt) continue;
      if (!raw) await redis.set(keys.quarantine, JSON.stringify({ since: row!.quarantinedAt, reason: row!.quarantineReason }));
      else if (!row?.quarantinedAt) {
        const q = JSON.parse(raw) as { since: string; reason: string };
        await this.states.setQuarantine(t.id, q.since ?? nowIso(), q.reason ?? null);
      }
      await this.jobs.pushQueue(t.id).pause();
      this.metrics.targetQuarantined.set({ target: t.id }, 1);
      this.log.warn({ event: 'target.quarantine-adopted', targetId: t.id }, `Target ${t.id} is quarantined by the deletion guard; its queue stays paused`);
    }
  }

  private async refreshGauges(): Promise<void> {
    if (!this.config.targets.length) return;
    const values = await (await this.redis()).mget(...this.config.targets.map(t => this.keys(t.id).quarantine));
    this.config.targets.forEach((t, i) => this.metrics.targetQuarantined.set({ target: t.id }, values[i] ? 1 : 0));
  }

  /** Resource ids of every push waiting in the target's (paused) queue. */
  private async waitingResourceIds(targetId: string): Promise<string[]> {
    const q = this.jobs.pushQueue(targetId);
    const out: string[] = [];
    for (let start = 0; ; start += 1000) {
      const jobs = await q.getJobs(['waiting', 'prioritized', 'delayed'], start, start + 999);
      for (const j of jobs) if (j?.data) out.push((j.data as PushJobData).resourceId);
      if (jobs.length < 1000) return out;
    }
  }

  /** Resources synced at the target: the base of the percentage rule (cached briefly). */
  private async linkedCount(targetId: string): Promise<number> {
    const c = this.linked.get(targetId);
    if (c && Date.now() - c.at < LINKED_CACHE_MS) return c.n;
    const [row] = await this.db.manager.query(
      `SELECT COUNT(*) AS n FROM target_link WHERE target_id = ${this.db.isPostgres ? '$1' : '?'} AND status = 'synced' AND remote_id IS NOT NULL`, [targetId],
    );
    const n = Number(row?.n ?? 0);
    this.linked.set(targetId, { n, at: Date.now() });
    return n;
  }

  /** The producer connection once ready (it does not queue commands while connecting). */
  private async redis(): Promise<Redis> {
    const r = this.jobs.connection;
    if (r.status === 'ready') return r;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { r.off('ready', onReady); reject(new Error('Redis is not reachable')); }, READY_TIMEOUT_MS);
      const onReady = () => { clearTimeout(timer); resolve(); };
      r.once('ready', onReady);
    });
    return r;
  }

  private keys(targetId: string) {
    const base = `${this.config.env.queuePrefix}:guard:${targetId}`;
    return { window: `${base}:window`, quarantine: `${base}:quarantine`, approved: `${base}:approved`, rejected: `${base}:rejected`, held: `${base}:held` };
  }

  private target(id: string): TargetConfig {
    const t = this.config.targets.find(x => x.id === id);
    if (!t) throw new DeletionGuardError('unknown_target', `target ${id} is not configured`);
    return t;
  }
}
