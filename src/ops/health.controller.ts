import { Controller, Get, Inject, OnModuleDestroy } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Redis } from 'ioredis';
import { APP_CONFIG, AppConfig } from '../config/app-config.js';

/**
 * Kubernetes probes: `/health/live` (the process answers) and `/health/ready` (database and Redis
 * answer, each within ~1.5 s). SCIM writes need no Redis, so the api keeps serving while ready is 503.
 */
@Controller('health')
export class HealthController implements OnModuleDestroy {
  private readonly redis: Redis;

  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    // Eager connect: lazy connects inside concurrent checks fail (stack-notes §4).
    this.redis = new Redis(config.env.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: t => Math.min(t * 500, 5000) });
    this.redis.on('error', () => undefined);
  }

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.db.pingCheck('database', { timeout: 1500 }),
      async () => {
        const check = this.indicators.check('redis');
        try {
          await Promise.race([this.redis.ping(), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 1000))]);
          return check.up();
        } catch (e) {
          return check.down({ message: (e as Error).message });
        }
      },
    ]);
  }

  onModuleDestroy(): void {
    this.redis.disconnect();
  }
}
