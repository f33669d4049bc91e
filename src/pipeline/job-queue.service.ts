import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Job, JobsOptions, Queue, QueueEvents } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { APP_CONFIG, AppConfig, TargetConfig } from '../config/app-config.js';
import { ChangeEventEntity } from '../identity/change-event.entity.js';
import type { PushTraceJson } from '../targets/push-trace.js';
import { DeadLetterJobData, FanOutJobData, PushJobData, PushMode, PushTrigger } from './job.types.js';
import { JobName, pushQueueName, QueueName } from './queue-names.js';
import { createRedis } from './redis-connection.js';

/** Priority of backfill / sweep pushes: live pushes (no priority) always run first (BullMQ: unprioritised before prioritised). */
export const SWEEP_PRIORITY = 10;
/**
 * Highest BullMQ priority. Note that BullMQ runs unprioritised jobs before prioritised ones, so
 * provision on demand does not use it: it is enqueued unprioritised with `lifo` (head of the wait list).
 */
export const URGENT_PRIORITY = 1;

/** How long provisionNow waits for the push by default, ms. */
export const PROVISION_TIMEOUT_MS = 30_000;
/** How long the trace of a failed on-demand attempt stays in Redis, seconds. */
const TRACE_TTL_S = 600;

/** Options of {@link JobQueueService.provisionNow}. */
export interface ProvisionOptions {
  /** Give up waiting after this many ms (default {@link PROVISION_TIMEOUT_MS}); the push itself goes on. */
  timeoutMs?: number;
  correlationId?: string;
}

/** Per-resource deduplication id shared by every action on one resource (DESIGN.md, Queues). */
export function dedupIdFor(resourceType: string, resourceId: string): string {
  return `${resourceType}-${resourceId}`;
}

/** Push job id: unique per trigger, so keepLastIfActive keeps the follow-up (research/bullmq-design.md §2.2). */
export function pushJobId(d: Pick<PushJobData, 'resourceType' | 'resourceId'>, t: PushTrigger): string {
  const base = dedupIdFor(d.resourceType, d.resourceId);
  switch (t.kind) {
    case 'event': return `${base}-e${t.outboxId}`;
    case 'sweep': return `${base}-s${t.runId}`;
    case 'replay': return `${base}-r${t.n}`;
    case 'follow-up': return `${base}-f${t.reason}${t.n}`;
    case 'demand': return `${base}-p${t.n}`;
  }
}

/** Dead-letter job id: one per (target, resource), so moving is idempotent. */
export function deadLetterJobId(targetId: string, resourceType: string, resourceId: string): string {
  return `dlq-${targetId}-${resourceType}-${resourceId}`;
}

/**
 * Owns the producer side of every queue and is the ONE place that adds jobs: job ids, the
 * per-resource deduplication key, priorities and retry options are set here and nowhere else.
 */
@Injectable()
export class JobQueueService implements OnApplicationShutdown {
  private readonly log = new Logger(JobQueueService.name);
  readonly connection: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly events = new Map<string, { ev: QueueEvents; conn: Redis }>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.connection = createRedis(config.env.redisUrl, 'producer', e => this.log.warn(`Redis (producer): ${e.message}`));
  }

  /** The queue by name, created on first use with this deployment's prefix. */
  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.config.env.queuePrefix });
      q.on('error', e => this.log.warn(`Queue ${name}: ${e.message}`));
      this.queues.set(name, q);
    }
    return q;
  }

  pushQueue(targetId: string): Queue {
    return this.queue(pushQueueName(targetId));
  }

  /** Publishes outbox rows to `changes` in one atomic addBulk; job id `ob-<id>` absorbs re-publishing. */
  async publishChanges(rows: ChangeEventEntity[]): Promise<void> {
    await this.queue(QueueName.Changes).addBulk(rows.map(r => ({
      name: JobName.FanOut,
      data: { outboxId: r.id, resourceType: r.resourceType, resourceId: r.resourceId, version: r.version, kind: r.kind, correlationId: r.correlationId } satisfies FanOutJobData,
      opts: { jobId: `ob-${r.id}`, attempts: 10, backoff: { type: 'exponential', delay: 1000, jitter: 0.5 }, removeOnComplete: { age: 3600, count: 20000 }, removeOnFail: { age: 14 * 86400 } },
    })));
  }

  /**
   * Enqueues a push of one resource to one target — live, sweep, replay or follow-up alike — with the
   * per-resource key, so a burst leads to at most one waiting push plus one follow-up, and two pushes
   * of one resource to one target never run at once. Returns the id BullMQ kept (an active or waiting
   * job's id when deduplicated).
   */
  async enqueuePush(data: PushJobData, trigger: PushTrigger, priority?: number): Promise<string | undefined> {
    const target = this.target(data.targetId);
    const job = await this.pushQueue(data.targetId).add(data.resourceType === 'Group' ? JobName.PushGroup : JobName.PushUser, data, this.pushOptions(target, data, trigger, priority));
    return job.id;
  }

  /** Many pushes to one target in one round trip (sweep, backfill). */
  async enqueuePushes(targetId: string, items: Array<{ data: PushJobData; trigger: PushTrigger }>, priority?: number): Promise<void> {
    if (!items.length) return;
    const target = this.target(targetId);
    await this.pushQueue(targetId).addBulk(items.map(({ data, trigger }) => ({
      name: data.resourceType === 'Group' ? JobName.PushGroup : JobName.PushUser,
      data,
      opts: this.pushOptions(target, data, trigger, priority),
    })));
  }

  /**
   * Provision on demand: pushes one resource to one target NOW and returns what happened, step by step
   * (scope decision, match attempts, mapped payload, diff, every HTTP call, outcome — push-trace.ts).
   * Backs `POST /admin/targets/{id}/provision/{resourceType}/{resourceId}`.
   *
   * The push goes through the same per-resource deduplication key as every other push, so it never runs
   * beside another push of that resource (research/bullmq-design.md §2.2, keepLastIfActive):
   * - nothing queued: ours is added unprioritised with `lifo`, i.e. at the head of the wait list;
   * - a push of the resource is WAITING (or delayed/prioritised): it is replaced by ours (pushes are
   *   level-triggered, so ours does all it would have done; a `force`/`readBack` mode it carried is kept);
   * - a push is ACTIVE: BullMQ stores ours as the follow-up that starts when the active one finishes;
   *   we wait for that one, then for ours. If a later trigger displaced ours meanwhile, ours is added again.
   *
   * Resolves with the trace once the push finished (`outcome` = the push outcome, or `failed` with
   * `error` — the failure is also a retry or a dead letter as usual), or when `timeoutMs` passed
   * (`outcome: 'pending'`, steps of the last failed attempt if any). Throws only for an unknown target.
   */
  async provisionNow(targetId: string, resourceType: 'User' | 'Group', resourceId: string, mode: PushMode = 'live', opts: ProvisionOptions = {}): Promise<PushTraceJson> {
    this.target(targetId);
    const deadline = Date.now() + (opts.timeoutMs ?? PROVISION_TIMEOUT_MS);
    const queue = this.pushQueue(targetId);
    const events = await this.queueEvents(targetId);
    const data: PushJobData = { targetId, resourceType, resourceId, version: 0, mode, correlationId: opts.correlationId ?? `demand-${randomBytes(6).toString('hex')}`, trace: true };
    const pending = (jobId?: string, error?: string): PushTraceJson => ({
      targetId, resourceType, resourceId, mode: data.mode, jobId, attempt: 0, startedAt: new Date().toISOString(), durationMs: 0,
      outcome: 'pending', ...(error ? { error } : {}), steps: [],
    });
    for (let round = 0; round < 10 && Date.now() < deadline; round++) {
      const jobId = pushJobId(data, { kind: 'demand', n: randomBytes(6).toString('hex') });
      const kept = (await queue.add(resourceType === 'Group' ? JobName.PushGroup : JobName.PushUser, data, {
        ...this.pushOptions(this.target(targetId), data, { kind: 'demand', n: '' }, undefined), jobId, lifo: true,
      })).id;
      if (kept !== jobId && kept) {
        const winner = await queue.getJob(kept);
        const state = winner ? await winner.getState() : 'unknown';
        if (winner && state === 'active') {
          await winner.waitUntilFinished(events, Math.max(1, deadline - Date.now())).catch(() => undefined);
        } else if (winner && ['waiting', 'prioritized', 'delayed', 'waiting-children'].includes(state)) {
          if (winner.data.mode !== 'live' && data.mode === 'live') data.mode = winner.data.mode;
          await winner.remove().catch(() => undefined); // became active meanwhile: the next round waits for it
          continue;
        }
      }
      const ours = await queue.getJob(jobId);
      if (ours) return this.awaitTrace(ours, events, deadline, pending);
    }
    return pending(undefined, 'another push of this resource kept the per-resource key; try again');
  }

  /** Keeps the trace of a failed traced attempt (provision on demand) for a while: a failed job has no return value. */
  async saveTrace(jobId: string, trace: PushTraceJson): Promise<void> {
    await this.connection.set(this.traceKey(jobId), JSON.stringify(trace), 'EX', TRACE_TTL_S);
  }

  private async readTrace(jobId: string): Promise<PushTraceJson | undefined> {
    const raw = await this.connection.get(this.traceKey(jobId)).catch(() => null);
    return raw ? (JSON.parse(raw) as PushTraceJson) : undefined;
  }

  private traceKey(jobId: string): string {
    return `${this.config.env.queuePrefix}:trace:${jobId}`;
  }

  private async awaitTrace(job: Job<PushJobData>, events: QueueEvents, deadline: number, pending: (jobId?: string, error?: string) => PushTraceJson): Promise<PushTraceJson> {
    const jobId = String(job.id);
    try {
      const value: unknown = await job.waitUntilFinished(events, Math.max(1, deadline - Date.now()));
      // The trace holds the mapped payload: once read, it leaves Redis (DESIGN.md: no attribute values kept there).
      await job.remove().catch(() => undefined);
      await this.connection.del(this.traceKey(jobId)).catch(() => 0);
      if (value && typeof value === 'object' && 'steps' in value) return value as PushTraceJson;
      // A worker that returns only the outcome (older build): no steps to show.
      return { ...pending(jobId), outcome: String(value) };
    } catch (e) {
      const last = await this.readTrace(jobId);
      const finished = ['completed', 'failed'].includes(await job.getState().catch(() => 'unknown'));
      if (finished) {
        await this.connection.del(this.traceKey(jobId)).catch(() => 0);
        return last ?? { ...pending(jobId, (e as Error).message), outcome: 'failed' };
      }
      // Timed out: the push goes on (retrying or waiting for the target); show the last failed attempt.
      return last ? { ...last, outcome: 'pending' } : pending(jobId, 'still running when the wait timed out');
    }
  }

  /** QueueEvents of a push queue, on its own blocking connection, created on first use. */
  private async queueEvents(targetId: string): Promise<QueueEvents> {
    const name = pushQueueName(targetId);
    let entry = this.events.get(name);
    if (!entry) {
      // BullMQ never closes a connection it is given: keep it to disconnect at shutdown.
      const conn = createRedis(this.config.env.redisUrl, 'worker', e => this.log.warn(`Redis (events): ${e.message}`));
      const ev = new QueueEvents(name, { connection: conn, prefix: this.config.env.queuePrefix });
      ev.on('error', e => this.log.warn(`QueueEvents ${name}: ${e.message}`));
      entry = { ev, conn };
      this.events.set(name, entry);
    }
    await entry.ev.waitUntilReady();
    return entry.ev;
  }

  /** Records a dead letter, replacing an older one for the same (target, resource). */
  async addDeadLetter(d: DeadLetterJobData): Promise<void> {
    const q = this.queue(QueueName.DeadLetter);
    const id = deadLetterJobId(d.targetId, d.resourceType, d.resourceId);
    await (await q.getJob(id))?.remove();
    await q.add(JobName.DeadLetter, d, { jobId: id, removeOnComplete: false, removeOnFail: false });
  }

  /** Drops the dead letter of (target, resource), if any — a later push succeeded. */
  async clearDeadLetter(targetId: string, resourceType: string, resourceId: string): Promise<boolean> {
    const job = await this.queue(QueueName.DeadLetter).getJob(deadLetterJobId(targetId, resourceType, resourceId));
    if (!job) return false;
    await job.remove();
    return true;
  }

  private pushOptions(target: TargetConfig, data: PushJobData, trigger: PushTrigger, priority?: number): JobsOptions {
    return {
      jobId: pushJobId(data, trigger),
      deduplication: { id: dedupIdFor(data.resourceType, data.resourceId), keepLastIfActive: true },
      priority,
      attempts: target.retry.attempts,
      backoff: { type: 'switchboard' },
      removeOnComplete: { age: 3600, count: 5000 },
      removeOnFail: { age: 7 * 86400, count: 50000 },
    };
  }

  private target(id: string): TargetConfig {
    const t = this.config.targets.find(x => x.id === id);
    if (!t) throw new Error(`Unknown target ${id}`);
    return t;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.events.values()].map(async ({ ev, conn }) => { await ev.close(); conn.disconnect(); }));
    await Promise.allSettled([...this.queues.values()].map(q => q.close()));
    this.connection.disconnect();
  }
}
