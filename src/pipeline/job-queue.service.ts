import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { JobsOptions, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { APP_CONFIG, AppConfig, TargetConfig } from '../config/app-config.js';
import { ChangeEventEntity } from '../identity/change-event.entity.js';
import { DeadLetterJobData, FanOutJobData, PushJobData, PushTrigger } from './job.types.js';
import { JobName, pushQueueName, QueueName } from './queue-names.js';
import { createRedis } from './redis-connection.js';

/** Priority of backfill / sweep pushes: live pushes (no priority) always run first (BullMQ: unprioritised before prioritised). */
export const SWEEP_PRIORITY = 10;
/** Priority of an operator's provision-on-demand: the highest. */
export const URGENT_PRIORITY = 1;

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
    await Promise.allSettled([...this.queues.values()].map(q => q.close()));
    this.connection.disconnect();
  }
}
