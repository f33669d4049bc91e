import { ChangeKind } from '../identity/change-event.entity.js';
import { ResourceTypeName } from '../scim/scim.constants.js';

/** `changes` job: one outbox row. Ids and versions only — never attribute values. */
export interface FanOutJobData {
  outboxId: number;
  resourceType: ResourceTypeName;
  resourceId: string;
  version: number;
  kind: ChangeKind;
  correlationId: string;
}

/**
 * How a push treats the unchanged-hash short-circuit (DESIGN.md, Queues): `live` — an unchanged mapped
 * state sends nothing; `force` — every mapped attribute is sent (full PATCH, or PUT for PUT-only targets);
 * `readBack` — the remote account is read (GET) and the mapped state diffed against it, repairing edits
 * made in the app (404 → re-create).
 */
export type PushMode = 'live' | 'force' | 'readBack';

export const PUSH_MODES: readonly PushMode[] = ['live', 'force', 'readBack'];

/** Why a push was enqueued; decides its job id suffix and priority. */
export type PushTrigger =
  | { kind: 'event'; outboxId: number }
  | { kind: 'sweep'; runId: string }
  | { kind: 'replay'; n: number }
  | { kind: 'follow-up'; reason: string; n: string }
  /** Provision on demand (JobQueueService.provisionNow). */
  | { kind: 'demand'; n: string };

/** `push.<targetId>` job: reconcile one resource to one target from current state. */
export interface PushJobData {
  targetId: string;
  resourceType: ResourceTypeName;
  resourceId: string;
  /** Canonical version known when enqueued (the processor reads the current one anyway). */
  version: number;
  mode: PushMode;
  correlationId: string;
  /** Record a full PushTrace (mapped payload and diff included) and return it as the job's return value. */
  trace?: boolean;
}

/** `dlq` job: a push that failed for good. Ids, error class and summary only — no attribute values. */
export interface DeadLetterJobData {
  targetId: string;
  resourceType: ResourceTypeName;
  resourceId: string;
  /** The push job that failed. */
  jobId: string;
  errorClass: string;
  summary: string;
  httpStatus?: number;
  attemptsMade: number;
  failedAt: string;
}
