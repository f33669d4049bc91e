import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig, TargetConfig } from '../config/app-config.js';
import { MetricsService } from '../ops/metrics.service.js';
import { JobQueueService } from '../pipeline/job-queue.service.js';
import { TargetClients } from './target-clients.service.js';

/** Circuit state per target, as this process sees it. */
export type CircuitState = 'closed' | 'open';

/**
 * Target circuit breaker (DESIGN.md, Data flow): a target-level failure (401/403, refused connection,
 * or `circuit.failureThreshold` consecutive retryable failures) opens the circuit — the target's queue
 * is paused so its jobs wait instead of burning attempts — and a probe (an authenticated list request)
 * runs every `circuit.probeIntervalMs` until it succeeds, then the queue resumes by itself. A Redis
 * marker lets a restarted worker adopt a circuit another process opened.
 */
@Injectable()
export class CircuitService implements OnApplicationShutdown {
  private readonly log = new Logger(CircuitService.name);
  private readonly failures = new Map<string, number>();
  private readonly probes = new Map<string, NodeJS.Timeout>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: JobQueueService,
    private readonly clients: TargetClients,
    private readonly metrics: MetricsService,
  ) {}

  state(targetId: string): CircuitState {
    return this.probes.has(targetId) ? 'open' : 'closed';
  }

  /** A push succeeded: reset the failure run. */
  recordSuccess(targetId: string): void {
    this.failures.set(targetId, 0);
  }

  /** A retryable failure; returns true when the run reached the threshold and the circuit opened. */
  async recordRetryable(target: TargetConfig): Promise<boolean> {
    const n = (this.failures.get(target.id) ?? 0) + 1;
    this.failures.set(target.id, n);
    if (n < target.circuit.failureThreshold) return false;
    await this.open(target, `${n} consecutive failures`);
    return true;
  }

  /** Opens the circuit: pause the target's queue and start probing. Idempotent. */
  async open(target: TargetConfig, reason: string): Promise<void> {
    if (this.probes.has(target.id)) return;
    this.log.warn(`Circuit open for target ${target.id}: ${reason}; its queue is paused and probed every ${target.circuit.probeIntervalMs} ms`);
    const timer = setInterval(() => void this.probe(target), target.circuit.probeIntervalMs);
    this.probes.set(target.id, timer);
    this.metrics.circuitOpen.set({ target: target.id }, 1);
    await this.jobs.connection.set(this.markerKey(target.id), reason).catch(() => undefined);
    await this.jobs.pushQueue(target.id).pause();
  }

  /** At start: adopt circuits left open by a process that is gone. */
  async adoptOpenCircuits(): Promise<void> {
    for (const t of this.config.targets) {
      const marker = await this.jobs.connection.get(this.markerKey(t.id)).catch(() => null);
      if (marker) await this.open(t, `adopted (${marker})`);
    }
  }

  private async probe(target: TargetConfig): Promise<void> {
    try {
      await this.clients.get(target.id).findOne('User', 'userName eq "switchboard-circuit-probe"');
    } catch {
      return;
    }
    clearInterval(this.probes.get(target.id));
    this.probes.delete(target.id);
    this.failures.set(target.id, 0);
    this.metrics.circuitOpen.set({ target: target.id }, 0);
    await this.jobs.connection.del(this.markerKey(target.id)).catch(() => undefined);
    await this.jobs.pushQueue(target.id).resume();
    this.log.log(`Circuit closed for target ${target.id}: probe succeeded, queue resumed`);
  }

  private markerKey(targetId: string): string {
    return `${this.config.env.queuePrefix}:circuit:${targetId}`;
  }

  onApplicationShutdown(): void {
    for (const t of this.probes.values()) clearInterval(t);
    this.probes.clear();
  }
}
