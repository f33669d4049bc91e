import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';

/** Health probes and Prometheus metrics (the admin API arrives later). MetricsService is global (CoreModule). */
@Module({ imports: [TerminusModule], controllers: [HealthController, MetricsController] })
export class OpsModule {}
