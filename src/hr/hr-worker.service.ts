import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError, Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { APP_CONFIG, AppConfig } from '../config/app-config.js';
import { ChangeEventEntity } from '../identity/change-event.entity.js';
import { JobQueueService } from '../pipeline/job-queue.service.js';
import { OutboxRelayService } from '../pipeline/outbox-relay.service.js';
import { JobName, QueueName } from '../pipeline/queue-names.js';
import { createRedis } from '../pipeline/redis-connection.js';
import { HrEventProcessor } from './hr-event.processor.js';
import { HR_EVENT_KIND, hrDueJobId, HrDueJobData, hrEventJobId, HrEventJobData } from './hr-queue.js';
import { ScheduledChangeEntity } from './scheduled-change.entity.js';

const HR_EVENT_ATTEMPTS = 8;

/**
 * Runs the HR queues of the worker role: `hr-events` (from the outbox relay, job id `hr-<hrEventId>`)
 * and `hr-due` (delayed wake-ups, job id `due-<scheduledChangeId>`), plus the sweep that re-wakes
 * due rows and lost events from SQL — so a Redis that lost its data loses no termination.
 */
@Injectable()
export class HrWorkerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(HrWorkerService.name);
  private readonly workers: Worker[] = [];
  private connection?: Redis;
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<number>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: JobQueueService,
    private readonly processor: HrEventProcessor,
    relay: OutboxRelayService,
  ) {
    relay.route(HR_EVENT_KIND, rows => this.publish(rows));
  }

  onApplicationBootstrap(): void {
    // No HR source: no HR rows can exist (the ingress answers 404), so no workers or sweep either.
    if (!this.config.hr.sources.length) return;
    this.connection = createRedis(this.config.env.redisUrl, 'worker', e => this.log.warn(`Redis (hr worker): ${e.message}`));
    const common = { connection: this.connection, prefix: this.config.env.queuePrefix, maxStalledCount: 2 };
    const events = new Worker<HrEventJobData>(QueueName.HrEvents, job => this.runEvent(job), {
      ...common, concurrency: 4,
      settings: { backoffStrategy: (attemptsMade: number) => Math.min(1000 * 2 ** Math.max(0, attemptsMade - 1), 300_000) },
    });
    events.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) void this.processor.giveUp(job.data.hrEventId, err.message).catch(() => undefined);
    });
    const due = new Worker<HrDueJobData>(QueueName.HrDue, (job, token) => this.runDue(job, token), { ...common, concurrency: 4 });
    // Transient failures retry (backoff, then the sweep); each one is logged, never silent.
    due.on('failed', (job, err) => this.log.warn({ scheduledChangeId: job?.data.scheduledChangeId, attemptsMade: job?.attemptsMade }, `Scheduled change not applied yet (will retry): ${err.message}`));
    this.workers.push(events, due);
    for (const w of this.workers) w.on('error', e => this.log.warn(`Worker ${w.name}: ${e.message}`));
    this.timer = setInterval(() => void this.sweep().catch(e => this.log.warn(`HR sweep failed: ${(e as Error).message}`)), this.config.hr.sweepIntervalMs);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping?.catch(() => 0);
    await Promise.allSettled(this.workers.map(w => w.close()));
    this.connection?.disconnect();
  }

  /** Outbox rows of kind `hr-event` → `hr-events`, one atomic addBulk; the job id absorbs a re-publish. */
  private async publish(rows: ChangeEventEntity[]): Promise<void> {
    await this.jobs.queue(QueueName.HrEvents).addBulk(rows.map(r => ({
      name: JobName.HrEvent,
      data: { hrEventId: r.resourceId, sourceId: r.origin.replace(/^hr:/, ''), outboxId: r.id } satisfies HrEventJobData,
      opts: this.eventJobOptions(r.resourceId),
    })));
  }

  private eventJobOptions(hrEventId: string) {
    return {
      jobId: hrEventJobId(hrEventId), attempts: HR_EVENT_ATTEMPTS, backoff: { type: 'custom' },
      removeOnComplete: { age: 3600, count: 10000 }, removeOnFail: { age: 14 * 86400 },
    };
  }

  private async runEvent(job: Job<HrEventJobData>): Promise<string> {
    const { outcome, wake } = await this.processor.handleEvent(job.data.hrEventId);
    await this.wake(wake);
    return outcome;
  }

  /** Re-reads the row; a wake-up that came early (date corrected later) waits again until the row's time. */
  private async runDue(job: Job<HrDueJobData>, token?: string): Promise<string> {
    const r = await this.processor.handleDue(job.data.scheduledChangeId);
    if (r.outcome === 'not-due' && r.effectiveAtMs !== undefined) {
      await job.moveToDelayed(r.effectiveAtMs, token);
      throw new DelayedError();
    }
    return r.outcome;
  }

  /**
   * (Re)schedules the wake-up of each row at its current effective time: a delayed job with the same
   * id is replaced, so a corrected date fires once, at the new time. A job already running re-reads the row.
   */
  async wake(rows: ScheduledChangeEntity[]): Promise<void> {
    const q = this.jobs.queue(QueueName.HrDue);
    for (const row of rows) {
      const id = hrDueJobId(row.id);
      const existing = await q.getJob(id);
      if (existing) {
        const state = await existing.getState();
        if (state === 'active') continue;
        await existing.remove().catch(() => undefined);
      }
      await q.add(JobName.HrDue, { scheduledChangeId: row.id } satisfies HrDueJobData, {
        jobId: id, delay: Math.max(0, Date.parse(row.effectiveAt) - Date.now()), attempts: 10,
        backoff: { type: 'exponential', delay: 1000, jitter: 0.5 }, removeOnComplete: true, removeOnFail: { age: 14 * 86400 },
      });
    }
  }

  /**
   * Backstop (every `hr.sweepIntervalMs`, default one minute): wakes every due pending row (promoting a
   * delayed job, or adding one Redis lost) and re-enqueues accepted events whose job was lost.
   */
  sweep(): Promise<number> {
    this.sweeping ??= this.runSweep().finally(() => { this.sweeping = undefined; });
    return this.sweeping;
  }

  private async runSweep(): Promise<number> {
    const q = this.jobs.queue(QueueName.HrDue);
    let n = 0;
    for (const row of await this.processor.due()) {
      const id = hrDueJobId(row.id);
      const job = await q.getJob(id);
      const state = job ? await job.getState() : undefined;
      if (state === 'delayed') await job!.promote().catch(() => undefined);
      else if (state === 'active' || state === 'waiting' || state === 'prioritized') continue;
      else {
        if (job) await job.remove().catch(() => undefined);
        await q.add(JobName.HrDue, { scheduledChangeId: row.id }, { jobId: id, attempts: 10, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true });
      }
      n++;
    }
    const stale = await this.processor.stale();
    if (stale.length) {
      const eq = this.jobs.queue(QueueName.HrEvents);
      for (const ev of stale) {
        const job = await eq.getJob(hrEventJobId(ev.id));
        if (job && !(await job.isCompleted()) && !(await job.isFailed())) continue;
        await job?.remove().catch(() => undefined);
        await eq.add(JobName.HrEvent, { hrEventId: ev.id, sourceId: ev.sourceId }, this.eventJobOptions(ev.id));
        n++;
      }
    }
    if (n) this.log.log(`HR sweep woke ${n} scheduled changes / events`);
    return n;
  }
}
