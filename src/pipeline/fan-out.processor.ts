import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config.js';
import { ResourceService } from '../identity/resource.service.js';
import { TargetLinkService } from '../targets/target-link.service.js';
import { FanOutJobData } from './job.types.js';
import { JobQueueService } from './job-queue.service.js';

/** What a fan-out decided, per target (returned for metrics and tests). */
export type FanOutOutcome = Record<string, 'enqueued' | 'not-interested'>;

/**
 * `changes` processor: for one outbox event, decides which targets care and enqueues one push per
 * target through the one enqueue helper. A target cares when it handles the resource type and either
 * already has a link (always — so a deactivation racing an in-flight create is never skipped) or the
 * resource is live (a new link is written `pending` before the enqueue).
 * Safe to run twice: link upserts are idempotent and the push job id is derived from the outbox id.
 */
@Injectable()
export class FanOutProcessor {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly resources: ResourceService,
    private readonly links: TargetLinkService,
    private readonly jobs: JobQueueService,
  ) {}

  async handle(data: FanOutJobData): Promise<FanOutOutcome> {
    const outcome: FanOutOutcome = {};
    const resource = await this.resources.findAny(data.resourceId);
    const live = !!resource && !resource.deletedAt;
    const linked = new Set((await this.links.linksOf(data.resourceId)).map(l => l.targetId));
    for (const target of this.config.targets) {
      if (!target.resourceTypes.includes(data.resourceType)) { outcome[target.id] = 'not-interested'; continue; }
      // An inactive user never provisioned there is created disabled where deactivation means disable,
      // so the end state does not depend on whether its create was pushed before its deactivation.
      const wantsNew = live && (data.resourceType === 'Group' || resource!.active || target.deprovision.onDeactivate === 'disable');
      if (!linked.has(target.id)) {
        if (!wantsNew) { outcome[target.id] = 'not-interested'; continue; }
        await this.links.ensurePending(target.id, data.resourceType, data.resourceId);
      }
      await this.jobs.enqueuePush(
        { targetId: target.id, resourceType: data.resourceType, resourceId: data.resourceId, version: data.version, mode: 'live', correlationId: data.correlationId },
        { kind: 'event', outboxId: data.outboxId },
      );
      outcome[target.id] = 'enqueued';
    }
    return outcome;
  }
}
