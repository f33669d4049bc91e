import { hostname } from 'node:os';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError, Job, RateLimitError, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { APP_CONFIG, AppConfig, TargetConfig } from '../config/app-config.js';
import { MappingError } from '../mapping/mapping.error.js';
import { verifyTargetSchemas } from '../mapping/target-schema-check.js';
import { createTargetAuth } from '../targets/auth/target-auth.js';
import { request } from 'undici';
import { MetricsService } from '../ops/metrics.service.js';
import { CircuitService } from '../targets/circuit.service.js';
import { PushProcessor } from '../targets/push.processor.js';
import type { PushTraceJson } from '../targets/push-trace.js';
import { RateBudgetExhaustedError } from '../targets/rate-budget.js';
import { TargetError, TargetErrorKind } from '../targets/target.error.js';
import { TargetLinkService } from '../targets/target-link.service.js';
import { FanOutProcessor } from './fan-out.processor.js';
import { FanOutJobData, PushJobData } from './job.types.js';
import { JobQueueService } from './job-queue.service.js';
import { pushQueueName, QueueName } from './queue-names.js';
import { createRedis } from './redis-connection.js';

/** GET `<baseUrl>/Schemas` (RFC 7644 §4) with the target's credentials; undefined when it serves none. */
async function fetchTargetSchemas(target: TargetConfig): Promise<unknown> {
  const auth = createTargetAuth(target);
  try {
    const res = await request(`${target.baseUrl}/Schemas`, {
      headers: { accept: 'application/scim+json, application/json', ...(await auth.headers()) },
      headersTimeout: target.timeoutMs, bodyTimeout: target.timeoutMs,
    });
    if (res.statusCode !== 200) { await res.body.dump(); return undefined; }
    return await res.body.json();
  } finally {
    await auth.close();
  }
}

/** Backoff for retryable push failures: exponential with ±50 % jitter, honouring a target's Retry-After. */
export function pushBackoff(target: TargetConfig, attemptsMade: number, err?: Error): number {
  const retryAfter = (err as TargetError | undefined)?.retryAfterMs;
  if (retryAfter !== undefined) return retryAfter;
  const exp = Math.min(target.retry.backoffMs * 2 ** Math.max(0, attemptsMade - 1), target.retry.maxBackoffMs);
  return Math.round(exp * (0.5 + Math.random()));
}

/** Times a push job may be started (BullMQ `maxStartedAttempts`); 429 bounces count (research/bullmq-design.md §2). */
const MAX_STARTS = 200;
const MAX_STARTS_BUDGETED = 100_000;

/** Pushes of a target in flight at once across all processes: `rateLimit.concurrency`, else `concurrency`. */
export function globalConcurrency(target: TargetConfig): number {
  return target.rateLimit?.concurrency ?? target.concurrency;
}

/**
 * Runs the BullMQ workers of this process — `changes` (fan-out) and one `push.<targetId>` per target —
 * and is the ONE place that turns a TargetError into BullMQ semantics (STYLE.md §3):
 * Retryable → backoff (a run of them opens the circuit); TargetDown → circuit opens, the job waits
 * (moved to delayed, no attempt spent); Throttled (429) or the target's rate budget spent → the
 * target's queue is rate-limited for Retry-After / the budget's wait (no attempt spent, no failure
 * recorded); Permanent or attempts exhausted → dead letter + link failed. Each push queue gets BullMQ
 * global concurrency ({@link globalConcurrency}), so N worker processes together stay within it.
 */
@Injectable()
export class WorkerHostService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(WorkerHostService.name);
  private readonly workers: Worker[] = [];
  private connection?: Redis;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: JobQueueService,
    private readonly fanOut: FanOutProcessor,
    private readonly push: PushProcessor,
    private readonly circuits: CircuitService,
    private readonly links: TargetLinkService,
    private readonly metrics: MetricsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Mapping targets unknown to a target's /Schemas fail here, not as a flood of 400s later (schemaCheck).
    await verifyTargetSchemas(this.config.targets, fetchTargetSchemas, m => this.log.warn(m));
    this.connection = createRedis(this.config.env.redisUrl, 'worker', e => this.log.warn(`Redis (worker): ${e.message}`));
    const prefix = this.config.env.queuePrefix;
    const fan = new Worker<FanOutJobData>(QueueName.Changes, job => this.fanOut.handle(job.data), {
      connection: this.connection, prefix, concurrency: 8, maxStalledCount: 2,
    });
    this.workers.push(fan);
    for (const target of this.config.targets) {
      const cap = globalConcurrency(target);
      await this.jobs.pushQueue(target.id).setGlobalConcurrency(cap)
        .catch(e => this.log.warn(`Could not set global concurrency ${cap} on ${pushQueueName(target.id)}: ${(e as Error).message}`));
      const w: Worker<PushJobData> = new Worker<PushJobData>(pushQueueName(target.id), (job, token) => this.runPush(target, w, job, token), {
        connection: this.connection, prefix, concurrency: Math.min(target.concurrency, cap), maxStalledCount: 2,
        // Recorded as job.processedBy: which process ran a push (Bull Board, the multi-process tests).
        name: `${hostname()}:${process.pid}`, lockDuration: 30_000,
        // Bounds an endless 429 loop. Every bounce on a spent rate budget also counts as a start, and a push
        // must never fail for budget reasons: budgeted targets get a far higher bound.
        maxStartedAttempts: target.rateLimit?.max ? MAX_STARTS_BUDGETED : MAX_STARTS,
        // A limiter must be set for queue.rateLimit() to hold (stack-notes §3).
        limiter: { max: 100_000, duration: 1000 },
        settings: { backoffStrategy: (attemptsMade, _type, err) => pushBackoff(target, attemptsMade, err) },
      });
      w.on('failed', (job, err) => void this.onFailed(target, job, err));
      this.workers.push(w);
    }
    for (const w of this.workers) w.on('error', e => this.log.warn(`Worker ${w.name}: ${e.message}`));
    this.metrics.setQueueCountsReader(() => Promise.all(
      [QueueName.Changes, QueueName.DeadLetter, ...this.config.targets.map(t => pushQueueName(t.id))].map(async queue => ({
        queue, counts: await this.jobs.queue(queue).getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'),
      })),
    ));
    await this.circuits.adoptOpenCircuits().catch(e => this.log.warn(`Could not read circuit markers: ${(e as Error).message}`));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.workers.map(w => w.close()));
    this.connection?.disconnect();
  }

  private async runPush(target: TargetConfig, worker: Worker, job: Job<PushJobData>, token?: string): Promise<string | PushTraceJson> {
    const endTimer = this.metrics.pushSeconds.startTimer({ target: target.id });
    try {
      const { outcome, trace } = await this.push.process(job.data, { jobId: job.id, attempt: job.attemptsMade + 1 });
      endTimer();
      await this.circuits.recordSuccess(target.id);
      this.metrics.pushes.inc({ target: target.id, outcome });
      // Provision on demand asked for the trace as the return value (JobQueueService.provisionNow).
      return job.data.trace ? trace : outcome;
    } catch (e) {
      if (e instanceof RateBudgetExhaustedError) {
        // Not a failure: the whole queue waits until the budget has room again (stack-notes §3: the limiter makes this hold).
        await this.jobs.pushQueue(target.id).rateLimit(e.retryAfterMs);
        throw new RateLimitError();
      }
      this.metrics.pushFailures.inc({ target: target.id, kind: e instanceof TargetError ? e.kind : (e as Error).name });
      if (e instanceof MappingError) {
        // A mapping that cannot produce a payload for this resource will not succeed on retry.
        await this.deadLetter(target, job, e);
        throw new UnrecoverableError(e.message);
      }
      if (!(e instanceof TargetError)) throw e;
      switch (e.kind) {
        case TargetErrorKind.Throttled:
          await this.jobs.pushQueue(target.id).rateLimit(e.retryAfterMs ?? 1000);
          throw new RateLimitError();
        case TargetErrorKind.TargetDown:
          await this.circuits.open(target, e.message);
          return this.wait(job, token, target.circuit.probeIntervalMs);
        case TargetErrorKind.Retryable:
          if (await this.circuits.recordRetryable(target, e.message)) return this.wait(job, token, target.circuit.probeIntervalMs);
          if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await this.deadLetter(target, job, e);
          throw e;
        case TargetErrorKind.Permanent:
          await this.deadLetter(target, job, e);
          throw new UnrecoverableError(e.message);
      }
    }
  }

  /** Parks the job until the circuit's next probe; attempts are not spent. */
  private async wait(job: Job, token: string | undefined, ms: number): Promise<never> {
    await job.moveToDelayed(Date.now() + ms, token);
    throw new DelayedError();
  }

  /** Backstop for final failures that did not pass through runPush's dead-lettering (e.g. stalled too often). */
  private async onFailed(target: TargetConfig, job: Job<PushJobData> | undefined, err: Error): Promise<void> {
    if (!job || !job.finishedOn || err instanceof UnrecoverableError || err instanceof TargetError) return;
    await this.deadLetter(target, job, err).catch(e => this.log.error(`Dead-lettering ${job.id} failed: ${(e as Error).message}`));
  }

  private async deadLetter(target: TargetConfig, job: Job<PushJobData>, e: Error): Promise<void> {
    const te = e instanceof TargetError ? e : undefined;
    // Dead letters live in Redis: no attribute values there, so not the target's detail (it may echo them).
    // The link's last_error (SQL, beside the canonical data) keeps the whole message for the operator.
    const summary = (te ? te.summary : e.message).slice(0, 500);
    await this.jobs.addDeadLetter({
      targetId: target.id, resourceType: job.data.resourceType, resourceId: job.data.resourceId, jobId: String(job.id),
      errorClass: te ? `TargetError.${te.kind}` : e.name, summary, httpStatus: te?.status, attemptsMade: job.attemptsMade + 1, failedAt: new Date().toISOString(),
    });
    await this.links.markFailed(target.id, job.data.resourceId, e.message, job.attemptsMade + 1);
    this.metrics.deadLetters.inc({ target: target.id });
    this.log.warn({ jobId: job.id, targetId: target.id, resourceId: job.data.resourceId }, `Dead-lettered push: ${summary}`);
  }
}
