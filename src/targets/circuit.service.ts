import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { APP_CONFIG, AppConfig, TargetConfig } from '../config/app-config.js';
import { MetricsService } from '../ops/metrics.service.js';
import { JobQueueService } from '../pipeline/job-queue.service.js';
import { DeletionGuardService } from './deletion-guard.service.js';
import { TargetClients } from './target-clients.service.js';

/** Circuit state of a target: `half-open` while a probe request is under way. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** What `CircuitService.state` returns; the same in every process (read from Redis). */
export interface CircuitSnapshot {
  targetId: string;
  state: CircuitState;
  /** ISO 8601 time of the last state change; null when the circuit has never opened. */
  since: string | null;
  /** The failure that opened the circuit or the last probe's failure (kind, status, truncated detail). */
  lastError: string | null;
  /** Consecutive retryable failures counted so far, across processes (reset by any success). */
  failures: number;
  /** From `targets[].circuit`. */
  failureThreshold: number;
  probeIntervalMs: number;
}

const LAST_ERROR_MAX = 300;

/**
 * Target circuit breaker (DESIGN.md, Data flow): a target-level failure (401/403, refused connection,
 * rejected OAuth client credentials) or `circuit.failureThreshold` consecutive retryable failures
 * opens the circuit — the target's queue is paused so its jobs wait instead of burning attempts — and a
 * probe (an authenticated list request) runs every `circuit.probeIntervalMs` until one succeeds; then
 * the queue resumes by itself. State lives in a Redis hash `<QUEUE_PREFIX>:circuit:<targetId>`
 * (`state`, `since`, `lastError`, `failures`), so every process counts the same failures, shows the same
 * state, and a process that starts (or looks again, every probe interval) adopts a circuit another
 * process opened — also when that process is gone.
 */
@Injectable()
export class CircuitService implements OnApplicationShutdown {
  private readonly log = new Logger(CircuitService.name);
  private readonly probes = new Map<string, NodeJS.Timeout>();
  private readonly watchers: NodeJS.Timeout[] = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: JobQueueService,
    private readonly clients: TargetClients,
    private readonly metrics: MetricsService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** The target's circuit as every process sees it. Throws when Redis cannot be read or the target is unknown. */
  async state(targetId: string): Promise<CircuitSnapshot> {
    const target = this.target(targetId);
    const h = await this.jobs.connection.hgetall(this.key(targetId));
    const state: CircuitState = h.state === 'open' || h.state === 'half-open' ? h.state : 'closed';
    return {
      targetId,
      state,
      since: h.since ? new Date(Number(h.since)).toISOString() : null,
      lastError: h.lastError || null,
      failures: Number(h.failures ?? 0) || 0,
      failureThreshold: target.circuit.failureThreshold,
      probeIntervalMs: target.circuit.probeIntervalMs,
    };
  }

  /** A push succeeded: reset the run of failures (for every process). */
  async recordSuccess(targetId: string): Promise<void> {
    await this.jobs.connection.hset(this.key(targetId), 'failures', 0).catch(() => undefined);
  }

  /**
   * A retryable failure; returns true when the run reached `circuit.failureThreshold` and the circuit
   * opened. The run is counted in Redis, so failures seen by different processes add up.
   */
  async recordRetryable(target: TargetConfig, error?: string): Promise<boolean> {
    const key = this.key(target.id);
    let n: number;
    try {
      n = await this.jobs.connection.hincrby(key, 'failures', 1);
      if (error) await this.jobs.connection.hset(key, 'lastError', error.slice(0, LAST_ERROR_MAX));
    } catch {
      return false;
    }
    if (n < target.circuit.failureThreshold) return false;
    await this.open(target, `${n} consecutive failures${error ? `; last: ${error}` : ''}`);
    return true;
  }

  /** Opens the circuit: mark it in Redis, pause the target's queue and probe. Idempotent. */
  async open(target: TargetConfig, reason: string): Promise<void> {
    const key = this.key(target.id);
    const current = await this.jobs.connection.hget(key, 'state').catch(() => null);
    const fields: Record<string, string | number> = { lastError: reason.slice(0, LAST_ERROR_MAX) };
    if (current !== 'open' && current !== 'half-open') Object.assign(fields, { state: 'open', since: Date.now() });
    await this.jobs.connection.hset(key, fields).catch(() => undefined);
    this.startProbing(target, reason);
    await this.jobs.pushQueue(target.id).pause();
  }

  /**
   * At start: adopt circuits left open by other processes (running or gone), then look again every
   * probe interval, so an open circuit is always probed by someone.
   */
  async adoptOpenCircuits(): Promise<void> {
    for (const t of this.config.targets) {
      await this.adopt(t);
      const w = setInterval(() => void this.adopt(t).catch(() => undefined), t.circuit.probeIntervalMs);
      w.unref();
      this.watchers.push(w);
    }
  }

  private async adopt(target: TargetConfig): Promise<void> {
    if (this.probes.has(target.id)) return;
    const h = await this.jobs.connection.hgetall(this.key(target.id));
    if (h.state === 'open' || h.state === 'half-open') this.startProbing(target, `adopted (${h.lastError ?? 'opened elsewhere'})`);
  }

  private startProbing(target: TargetConfig, reason: string): void {
    if (this.probes.has(target.id)) return;
    this.log.warn(`Circuit open for target ${target.id}: ${reason}; its queue is paused and probed every ${target.circuit.probeIntervalMs} ms`);
    this.probes.set(target.id, setInterval(() => void this.probe(target).catch(() => undefined), target.circuit.probeIntervalMs));
    this.metrics.circuitOpen.set({ target: target.id }, 1);
  }

  private stopProbing(targetId: string): void {
    clearInterval(this.probes.get(targetId));
    this.probes.delete(targetId);
    this.metrics.circuitOpen.set({ target: targetId }, 0);
  }

  private async probe(target: TargetConfig): Promise<void> {
    const redis = this.jobs.connection;
    const key = this.key(target.id);
    const state = await redis.hget(key, 'state');
    if (state !== 'open' && state !== 'half-open') {
      // Another process's probe closed it and resumed the queue.
      this.stopProbing(target.id);
      return;
    }
    await redis.hset(key, { state: 'half-open', since: Date.now() });
    try {
      await this.clients.get(target.id).findOne('User', 'userName eq "switchboard-circuit-probe"');
    } catch (e) {
      await redis.hset(key, { state: 'open', since: Date.now(), lastError: `probe: ${(e as Error).message}`.slice(0, LAST_ERROR_MAX) });
      return;
    }
    this.stopProbing(target.id);
    await redis.hset(key, { state: 'closed', since: Date.now(), failures: 0 });
    if (await this.quarantined(target.id)) {
      this.log.log(`Circuit closed for target ${target.id}: probe succeeded; its queue stays paused while the target is quarantined`);
      return;
    }
    await this.jobs.pushQueue(target.id).resume();
    this.log.log(`Circuit closed for target ${target.id}: probe succeeded, queue resumed`);
  }

  /** A quarantined target (mass-deletion guard) keeps its queue paused until an operator decides. */
  private async quarantined(targetId: string): Promise<boolean> {
    // Looked up lazily: the guard itself depends on this service.
    let guard: DeletionGuardService;
    try {
      guard = this.moduleRef.get(DeletionGuardService, { strict: false });
    } catch {
      return false;
    }
    return guard.isQuarantined(targetId).catch(() => false);
  }

  private target(targetId: string): TargetConfig {
    const t = this.config.targets.find(x => x.id === targetId);
    if (!t) throw new Error(`Unknown target ${targetId}`);
    return t;
  }

  private key(targetId: string): string {
    return `${this.config.env.queuePrefix}:circuit:${targetId}`;
  }

  onApplicationShutdown(): void {
    for (const t of this.probes.values()) clearInterval(t);
    for (const w of this.watchers) clearInterval(w);
    this.probes.clear();
    this.watchers.length = 0;
  }
}
