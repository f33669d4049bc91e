import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';

/** Health probes (more operations endpoints arrive with the admin API). */
@Module({ imports: [TerminusModule], controllers: [HealthController] })
export class OpsModule {}
