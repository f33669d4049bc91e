import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config.js';
import { ScimClient } from './scim-client.js';

/** One pooled SCIM client per target, closed at shutdown. */
@Injectable()
export class TargetClients implements OnApplicationShutdown {
  private readonly clients = new Map<string, ScimClient>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get(targetId: string): ScimClient {
    let c = this.clients.get(targetId);
    if (!c) {
      const target = this.config.targets.find(t => t.id === targetId);
      if (!target) throw new Error(`Unknown target ${targetId}`);
      c = new ScimClient(target);
      this.clients.set(targetId, c);
    }
    return c;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.clients.values()].map(c => c.close()));
  }
}
