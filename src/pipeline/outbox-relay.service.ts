import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { In, IsNull, LessThan, Not } from 'typeorm';
import { nowIso } from '../common/clock.js';
import { APP_CONFIG, AppConfig } from '../config/app-config.js';
import { DbService } from '../db/db.service.js';
import { ChangeEventEntity } from '../identity/change-event.entity.js';
import { ResourceService } from '../identity/resource.service.js';
import { JobQueueService } from './job-queue.service.js';

/** Advisory-lock key: one relay at a time across PostgreSQL-backed worker processes. */
const RELAY_LOCK_KEY = 7_311_001;

/**
 * Moves outbox rows (`change_event`) to the `changes` queue (DESIGN.md, Outbox relay): read unpublished
 * rows without a lock, `addBulk` them (job id `ob-<id>` absorbs a re-publish), then mark them published
 * in a short separate update — never a transaction held across a Redis call. Redis down: the add fails,
 * rows stay unpublished, the next tick retries. Polls, and is nudged after every local commit.
 */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(OutboxRelayService.name);
  private timer?: NodeJS.Timeout;
  private running = false;
  private again = false;
  private stopped = false;
  private lastGc = 0;
  private failing = false;
  private readonly routes = new Map<string, (rows: ChangeEventEntity[]) => Promise<void>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DbService,
    private readonly jobs: JobQueueService,
    resources: ResourceService,
  ) {
    resources.onCommit(() => this.nudge());
  }

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * Sends outbox rows of `kind` to `publish` instead of the `changes` queue (HR events go to
   * `hr-events`). `publish` must be idempotent per row (a job id derived from the row).
   */
  route(kind: string, publish: (rows: ChangeEventEntity[]) => Promise<void>): void {
    this.routes.set(kind, publish);
  }

  /** Runs a relay pass soon (coalesced with one already running). */
  nudge(): void {
    if (this.stopped) return;
    if (this.running) { this.again = true; return; }
    this.schedule(0);
  }

  /** One pass: publishes every unpublished row in batches. Returns how many were published. */
  async relayOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.withLeaderLock(() => this.batch());
      total += n;
      if (n < this.config.pipeline.relayBatchSize) break;
    }
    await this.gc();
    return total;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    this.running = true;
    let delay = this.config.pipeline.relayIntervalMs;
    try {
      await this.relayOnce();
      if (this.failing) this.log.log('Outbox relay recovered');
      this.failing = false;
    } catch (e) {
      if (!this.failing) this.log.warn(`Outbox relay paused, will retry: ${(e as Error).message}`);
      this.failing = true;
      delay = Math.max(delay, 1000);
    } finally {
      this.running = false;
    }
    if (this.again && !this.failing) { this.again = false; delay = 0; }
    if (!this.stopped) this.schedule(delay);
  }

  private async batch(): Promise<number> {
    const rows = await this.db.manager.find(ChangeEventEntity, {
      where: { publishedAt: IsNull() }, order: { id: 'ASC' }, take: this.config.pipeline.relayBatchSize,
    });
    if (!rows.length) return 0;
    const routed = new Map<(rows: ChangeEventEntity[]) => Promise<void>, ChangeEventEntity[]>();
    const changes: ChangeEventEntity[] = [];
    for (const r of rows) {
      const publish = this.routes.get(r.kind);
      if (publish) routed.set(publish, [...(routed.get(publish) ?? []), r]);
      else changes.push(r);
    }
    if (changes.length) await this.jobs.publishChanges(changes);
    for (const [publish, list] of routed) await publish(list);
    await this.db.write(em => em.update(ChangeEventEntity, { id: In(rows.map(r => r.id)) }, { publishedAt: nowIso() }));
    return rows.length;
  }

  /** On PostgreSQL, only the process holding the advisory lock relays; SQLite is single-process. */
  private async withLeaderLock(fn: () => Promise<number>): Promise<number> {
    if (!this.db.isPostgres) return fn();
    const runner = this.db.dataSource.createQueryRunner();
    try {
      const [{ locked }] = await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [RELAY_LOCK_KEY]);
      if (!locked) return 0;
      try {
        return await fn();
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [RELAY_LOCK_KEY]);
      }
    } finally {
      await runner.release();
    }
  }

  /** Deletes published rows past retention, at most once a minute. */
  private async gc(): Promise<void> {
    if (Date.now() - this.lastGc < 60_000) return;
    this.lastGc = Date.now();
    const cutoff = new Date(Date.now() - this.config.pipeline.outboxRetentionHours * 3600_000).toISOString();
    await this.db.write(em => em.delete(ChangeEventEntity, { publishedAt: Not(IsNull()), createdAt: LessThan(cutoff) }));
  }
}
