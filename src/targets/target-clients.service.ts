import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config.js';
import { JobQueueService } from '../pipeline/job-queue.service.js';
import { RateBudget } from './rate-budget.js';
import { ScimClient } from './scim-client.js';

/**
 * One pooled SCIM client per target, closed at shutdown. Each carries the target's auth (an OAuth
 * token is cached per target in this process) and its Redis-backed rate budget, shared by every
 * process using the same Redis and QUEUE_PREFIX.
 */
@Injectable()
export class TargetClients implements OnApplicationShutdown {
  private readonly clients = new Map<string, ScimClient>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: JobQueueService,
  ) {}

  get(targetId: string): ScimClient {
    let c = this.clients.get(targetId);
    if (!c) {
      const target = this.config.targets.find(t => t.id === targetId);
      if (!target) throw new Error(`Unknown target ${targetId}`);
      c = new ScimClient(target, undefined, { budget: RateBudget.forTarget(target, this.jobs.connection, this.config.env.queuePrefix) });
      this.clients.set(targetId, c);
    }
    return c;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.clients.values()].map(c => c.close()));
  }
}
