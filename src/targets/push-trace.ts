import { performance } from 'node:perf_hooks';
import type { PatchOperation } from './scim-client.js';

/** One HTTP call a push made to the target. `path` is relative to the target's base URL (no host, no credentials). */
export interface TraceHttpCall { method: string; path: string; status?: number; durationMs: number; error?: string }

/** One match attempt: the attribute tried, the filter sent and how many remote accounts it found. */
export interface TraceMatchAttempt {
  attribute: string;
  /** The SCIM filter sent, or undefined when the mapped payload has no value for the attribute (skipped). */
  filter?: string;
  /** Remote accounts that satisfied the attribute (after the local value-filter check). */
  found: number;
  /** The linked remote id when `found` is 1. */
  remoteId?: string;
}

/** Every kind of step a push records, in order. */
export type TraceStep =
  | { at: number; kind: 'scope'; decision: string; detail?: string }
  | { at: number; kind: 'match'; attempts: TraceMatchAttempt[]; result: 'linked' | 'none' | 'ambiguous'; remoteId?: string }
  | { at: number; kind: 'map'; payload: Record<string, unknown> }
  | { at: number; kind: 'reference'; attribute: string; canonicalId: string; remoteId?: string; resolved: boolean }
  | { at: number; kind: 'diff'; base: 'lastPushed' | 'none' | 'remote'; operations: PatchOperation[]; via: 'patch' | 'put' | 'none' }
  | { at: number; kind: 'http'; call: TraceHttpCall }
  | { at: number; kind: 'members'; added: number; removed: number; requests: number; via: 'patch' | 'put' }
  | { at: number; kind: 'note'; message: string };

/** Distributes Omit over the TraceStep union. */
type StepInput = TraceStep extends infer S ? S extends TraceStep ? Omit<S, 'at'> : never : never;

/**
 * What one push did, step by step: the answer of provision on demand (`JobQueueService.provisionNow`)
 * and the return value of a push job that asked for it (`PushJobData.trace`). Attribute values appear
 * only in the `map` and `diff` steps (the mapped payload the target receives; Switchboard never maps
 * secrets such as `password`). `at` is ms since the push started.
 */
export interface PushTraceJson {
  targetId: string;
  resourceType: string;
  resourceId: string;
  mode: string;
  jobId?: string;
  attempt: number;
  startedAt: string;
  durationMs: number;
  /** The push outcome (`created`, `linked`, `updated`, `unchanged`, …), `failed`, or `pending` (still retrying). */
  outcome: string;
  error?: string;
  steps: TraceStep[];
}

/** Records the steps of one push. Cheap when off: `enabled` false keeps only HTTP calls and the outcome. */
export class PushTrace {
  private readonly t0 = performance.now();
  private readonly started = new Date().toISOString();
  readonly steps: TraceStep[] = [];
  outcome = 'pending';
  error?: string;

  constructor(
    readonly enabled: boolean,
    private readonly head: Pick<PushTraceJson, 'targetId' | 'resourceType' | 'resourceId' | 'mode' | 'jobId' | 'attempt'>,
  ) {}

  /** Adds a step; payload-bearing steps only when tracing is on. */
  add(step: StepInput): void {
    if (!this.enabled && (step.kind === 'map' || step.kind === 'diff' || step.kind === 'reference')) return;
    this.steps.push({ ...step, at: Math.round(performance.now() - this.t0) } as TraceStep);
  }

  http(call: TraceHttpCall): void {
    this.add({ kind: 'http', call });
  }

  /** The HTTP calls made so far. */
  httpCalls(): TraceHttpCall[] {
    return this.steps.flatMap(s => (s.kind === 'http' ? [s.call] : []));
  }

  finish(outcome: string, error?: string): PushTraceJson {
    this.outcome = outcome;
    this.error = error;
    return this.toJSON();
  }

  toJSON(): PushTraceJson {
    return {
      ...this.head, startedAt: this.started, durationMs: Math.round(performance.now() - this.t0),
      outcome: this.outcome, ...(this.error ? { error: this.error } : {}), steps: this.steps,
    };
  }
}
