import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Reads job counts per queue and state at scrape time (registered by the worker side). */
export type QueueCountsReader = () => Promise<Array<{ queue: string; counts: Record<string, number> }>>;

/**
 * Prometheus metrics (prom-client, own registry): process defaults, push outcomes and failures per
 * target, push duration, outbox lag, and BullMQ job counts per queue and state read at scrape time.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private queueCounts?: QueueCountsReader;

  /** Pushes by target and outcome (created, updated, unchanged, disabled, deleted, …). */
  readonly pushes = new Counter({ name: 'switchboard_pushes_total', help: 'Pushes that completed, by target and outcome', labelNames: ['target', 'outcome'], registers: [this.registry] });
  /** Failed push attempts by target and TargetError kind (retryable, target-down, permanent, throttled). */
  readonly pushFailures = new Counter({ name: 'switchboard_push_failures_total', help: 'Failed push attempts, by target and error kind', labelNames: ['target', 'kind'], registers: [this.registry] });
  readonly deadLetters = new Counter({ name: 'switchboard_dead_letters_total', help: 'Pushes moved to the dead-letter queue, by target', labelNames: ['target'], registers: [this.registry] });
  readonly pushSeconds = new Histogram({
    name: 'switchboard_push_duration_seconds', help: 'Wall time of one push (all its HTTP calls), by target', labelNames: ['target'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry],
  });
  readonly circuitOpen = new Gauge({ name: 'switchboard_circuit_open', help: '1 while a target circuit is open in this process', labelNames: ['target'], registers: [this.registry] });
  /** 1 while the mass-deletion guard holds a target's deprovisions (set by DeletionGuardService). */
  readonly targetQuarantined = new Gauge({ name: 'switchboard_target_quarantined', help: '1 while a target is quarantined by the mass-deletion guard', labelNames: ['target'], registers: [this.registry] });
  readonly targetQuarantines = new Counter({ name: 'switchboard_target_quarantines_total', help: 'Times the mass-deletion guard quarantined a target', labelNames: ['target'], registers: [this.registry] });
  /** Deprovisions the guard held (per attempt) or an operator rejected. */
  readonly deprovisionsHeld = new Counter({ name: 'switchboard_deprovisions_held_total', help: 'Deprovisions held or rejected by the mass-deletion guard, by target and decision', labelNames: ['target', 'decision'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const self = this;
    new Gauge({
      name: 'switchboard_queue_jobs', help: 'BullMQ jobs by queue and state (read at scrape time)', labelNames: ['queue', 'state'], registers: [this.registry],
      async collect() {
        if (!self.queueCounts) return;
        this.reset();
        for (const q of await self.queueCounts().catch(() => [])) {
          for (const [state, n] of Object.entries(q.counts)) this.set({ queue: q.queue, state }, n);
        }
      },
    });
  }

  setQueueCountsReader(reader: QueueCountsReader): void {
    this.queueCounts = reader;
  }
}
