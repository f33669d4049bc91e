import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig, TargetConfig } from '../config/app-config.js';
import { DeprovisionAction } from '../config/file-config.dto.js';
import { ResourceService } from '../identity/resource.service.js';
import { StoredResource } from '../identity/resource.types.js';
import { JobQueueService } from '../pipeline/job-queue.service.js';
import { PushJobData } from '../pipeline/job.types.js';
import { ResourceTypeName } from '../scim/scim.constants.js';
import { PushAction } from './push-log.entity.js';
import { TargetError, TargetErrorKind } from './target.error.js';
import { TargetLinkService } from './target-link.service.js';
import { TargetLinkEntity } from './target-link.entity.js';
import { PushEngine } from './push/push-engine.js';
import { PushTrace, PushTraceJson } from './push-trace.js';
import { DeletionGuardService } from './deletion-guard.service.js';
import { targetScope } from './target-rules.js';

/** How one push ended; failures are thrown as TargetError instead. */
export type PushOutcome = 'created' | 'linked' | 'updated' | 'unchanged' | 'disabled' | 'deleted' | 'left' | 'skipped' | 'held';

/** What decide() wants at the target, and why (the why picks the link status and the deletion guard). */
export interface PushDecision { step: 'upsert' | DeprovisionAction; reason: 'in-scope' | 'out-of-scope' | 'deactivated' | 'deleted'; inScope: boolean }

/** Context of one push attempt, for the push log. */
export interface PushContext { jobId?: string; attempt: number }

/** A push's outcome and its step-by-step trace (push-trace.ts). */
export interface PushResult { outcome: PushOutcome; trace: PushTraceJson }

/**
 * Push processor (DESIGN.md principle 1): reconciles one resource to one target from CURRENT state —
 * never from the event that triggered it — so coalesced, retried, replayed or reordered jobs do no harm.
 * It decides WHAT the target should hold (scope, `deprovision` policy, deletion guard) and hands the HOW
 * to the push engine (push/push-engine.ts: map → match or create → diff → PATCH or PUT → membership),
 * recording every step in a PushTrace (push-trace.ts). Safe to run twice: an unchanged mapped-state hash
 * sends nothing (unless mode is `force` or `readBack`), a 409 on create links through matching.
 */
@Injectable()
export class PushProcessor {
  private readonly log = new Logger(PushProcessor.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly resources: ResourceService,
    private readonly links: TargetLinkService,
    private readonly jobs: JobQueueService,
    private readonly guard: DeletionGuardService,
    private readonly engine: PushEngine,
  ) {}

  /** Reconciles one resource to one target; see {@link process}. */
  async handle(data: PushJobData, ctx: PushContext): Promise<PushOutcome> {
    return (await this.process(data, ctx)).outcome;
  }

  /**
   * Reconciles one resource to one target and returns the outcome with its trace. When the job asked
   * for a trace (`data.trace`, provision on demand), a failed attempt's trace is kept in Redis for a
   * while (JobQueueService.saveTrace) so the caller can show it; the error is rethrown unchanged.
   */
  async process(data: PushJobData, ctx: PushContext): Promise<PushResult> {
    const trace = new PushTrace(!!data.trace, { targetId: data.targetId, resourceType: data.resourceType, resourceId: data.resourceId, mode: data.mode, jobId: ctx.jobId, attempt: ctx.attempt });
    try {
      const outcome = await this.reconcile(data, ctx, trace);
      return { outcome, trace: trace.finish(outcome) };
    } catch (e) {
      const json = trace.finish('failed', e instanceof TargetError ? e.summary : (e as Error).message);
      if (data.trace && ctx.jobId) await this.jobs.saveTrace(ctx.jobId, json).catch(() => undefined);
      throw e;
    }
  }

  private async reconcile(data: PushJobData, ctx: PushContext, trace: PushTrace): Promise<PushOutcome> {
    const target = this.target(data.targetId);
    const resource = await this.resources.findAny(data.resourceId);
    let link = await this.links.get(target.id, data.resourceId);
    const live = !!resource && !resource.deletedAt;
    const decision = await this.decide(target, data.resourceType, resource);
    trace.add({ kind: 'scope', decision: decision.step, detail: decision.reason });
    const version = resource?.version ?? link?.pushedVersion ?? 0;
    const log = (action: PushAction, r: { status?: number; durationMs?: number }, ok = true, error?: string) => this.links.log({
      targetId: target.id, resourceType: data.resourceType, resourceId: data.resourceId, action, version, httpStatus: r.status,
      durationMs: r.durationMs ?? 0, ok, error, jobId: ctx.jobId, correlationId: data.correlationId,
    });
    if (!link) {
      if (!live || (resource.resourceType === 'User' && !resource.active && target.deprovision.onDeactivate !== 'disable')) return 'skipped';
      // Never provisioned and not wanted there: a recorded skip, no HTTP.
      if (!decision.inScope) { await log('skip', {}, true, 'out of scope'); return 'skipped'; }
      await this.links.ensurePending(target.id, resource.resourceType, resource.id);
      link = (await this.links.get(target.id, data.resourceId))!;
    }
    const step = decision.step;
    const gated = await this.gate(target, data, resource, link, decision, log);
    if (gated) return gated;
    // Which call is under way, so a failure is logged with the action that failed.
    const current: { action: PushAction } = { action: step === 'delete' ? 'delete' : 'update' };
    try {
      const outcome = await this.engine.run({ target, data, resource, link, step, log, current, trace });
      if (decision.reason === 'out-of-scope') await this.links.update(target.id, link.resourceId, { status: 'out_of_scope' });
      // A dead letter exists only for a link marked failed; skip the Redis round trip otherwise.
      if (link.status === 'failed') await this.jobs.clearDeadLetter(target.id, data.resourceType, data.resourceId).catch(() => false);
      if (step !== 'upsert' && resource?.deletedAt) await this.maybePurge(resource.id);
      return outcome;
    } catch (e) {
      if (e instanceof TargetError) await log(current.action, { status: e.status, durationMs: e.durationMs }, false, e.message);
      throw e;
    }
  }

  /**
   * What the target should end up with for this resource: deleted → `deprovision.onDelete`; inactive
   * user → `onDeactivate`; outside the target's `scope` (users; group-based assignment reads the user's
   * groups) or not selected by `groups` (groups) → `onOutOfScope`; else upsert. Groups are deleted or
   * left, never disabled.
   */
  private async decide(target: TargetConfig, type: ResourceTypeName, r: StoredResource | undefined): Promise<PushDecision> {
    const groupAction = (a: DeprovisionAction) => (a === 'delete' ? 'delete' : 'none');
    if (!r || r.deletedAt) return { step: type === 'Group' ? groupAction(target.deprovision.onDelete) : target.deprovision.onDelete, reason: 'deleted', inScope: false };
    const scope = targetScope(target);
    const inScope = type === 'Group'
      ? scope.groupSelected(r)
      : scope.inScope(r, scope.referencesGroups ? (await this.resources.groupsOf([r.id])).get(r.id) ?? [] : []);
    if (type === 'User' && !r.active) return { step: target.deprovision.onDeactivate, reason: 'deactivated', inScope };
    if (!inScope) return { step: type === 'Group' ? groupAction(target.deprovision.onOutOfScope) : target.deprovision.onOutOfScope, reason: 'out-of-scope', inScope };
    return { step: 'upsert', reason: 'in-scope', inScope };
  }

  /**
   * Deprovisioning safety before any HTTP: an out-of-scope account is left alone (recorded skip) when
   * `skipOutOfScopeDeletions` is set, the policy is `none`, nothing exists remotely or it is already
   * disabled; a disable or delete of a live remote account asks the mass-deletion guard first — held
   * (quarantined target: re-enqueued behind the paused queue, no attempt spent) or rejected by an
   * operator (recorded skip; the link stays). Returns the outcome when the push ends here.
   */
  private async gate(
    target: TargetConfig, data: PushJobData, resource: StoredResource | undefined, link: TargetLinkEntity, decision: PushDecision,
    log: (a: PushAction, r: { status?: number }, ok?: boolean, err?: string) => Promise<void>,
  ): Promise<PushOutcome | undefined> {
    const { step } = decision;
    const version = resource?.version ?? link.pushedVersion;
    if (decision.reason === 'out-of-scope') {
      const done = !link.remoteId || (step === 'disable' && link.status === 'out_of_scope' && link.remoteActive === false);
      if (target.skipOutOfScopeDeletions || step === 'none' || done) {
        await log('skip', {}, true, target.skipOutOfScopeDeletions ? 'out of scope: skipOutOfScopeDeletions' : 'out of scope: nothing to do');
        await this.links.update(target.id, link.resourceId, { status: 'out_of_scope', pushedVersion: version, lastError: null, attempts: 0 });
        return link.remoteId && !done ? 'left' : 'skipped';
      }
    }
    const deprovisions = !!link.remoteId && (step === 'delete' || (step === 'disable' && link.remoteActive !== false));
    if (!deprovisions) return undefined;
    const verdict = await this.guard.admit(target, link.resourceId);
    if (verdict === 'proceed') return undefined;
    if (verdict === 'reject') {
      await log('skip', {}, true, `${step} rejected by an operator (deletion guard)`);
      await this.links.update(target.id, link.resourceId, { pushedVersion: version });
      return 'skipped';
    }
    await log('skip', {}, true, `${step} held: target quarantined by the deletion guard`);
    await this.jobs.enqueuePush(data, { kind: 'follow-up', reason: 'held', n: Date.now().toString(36) });
    return 'held';
  }

  /** Drops a tombstone once every link is deprovisioned (DESIGN.md, Store). */
  private async maybePurge(resourceId: string): Promise<void> {
    const links = await this.links.linksOf(resourceId);
    if (links.every(l => l.status === 'deprovisioned')) {
      for (const l of links) await this.links.deleteLink(l.targetId, resourceId);
      await this.resources.purgeTombstone(resourceId);
      this.log.debug(`Purged tombstone ${resourceId}`);
    }
  }

  private target(id: string): TargetConfig {
    const t = this.config.targets.find(x => x.id === id);
    if (!t) throw new TargetError(TargetErrorKind.Permanent, { detail: `target ${id} is not configured` });
    return t;
  }
}
