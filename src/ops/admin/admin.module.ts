import { DynamicModule, Module } from '@nestjs/common';
import { AdminAuthGuard } from '../../auth/admin-auth.guard.js';
import { Role } from '../../config/env.js';
import { JobQueueService } from '../../pipeline/job-queue.service.js';
import { PipelineModule } from '../../pipeline/pipeline.module.js';
import { CircuitService } from '../../targets/circuit.service.js';
import { DeletionGuardService } from '../../targets/deletion-guard.service.js';
import { TargetClients } from '../../targets/target-clients.service.js';
import { TargetStateService } from '../../targets/target-state.service.js';
import { AdminOperationsController } from './admin-operations.controller.js';
import { AdminPreviewController } from './admin-preview.controller.js';
import { AdminTargetsController } from './admin-targets.controller.js';
import { AdminTargetsService } from './admin-targets.service.js';
import { PreviewService } from './preview.service.js';

/**
 * The producer side an `api` process needs for the admin API: queues (counts, enqueue, provision on
 * demand), circuit and quarantine state (both kept in Redis and SQL, shared by every process).
 */
const API_ROLE_PROVIDERS = [JobQueueService, TargetClients, CircuitService, TargetStateService, DeletionGuardService];

/**
 * The admin API (`/admin`, DESIGN.md ops/): targets, operations, preview; OpenAPI at
 * `/admin/openapi.json` (openapi.ts). Role `all` shares the pipeline's services; role `api` runs the
 * producer side only (queues are read and enqueued to, no worker runs here).
 */
@Module({})
export class AdminModule {
  static forRole(role: Exclude<Role, 'worker'>): DynamicModule {
    return {
      module: AdminModule,
      imports: role === 'all' ? [PipelineModule] : [],
      controllers: [AdminTargetsController, AdminOperationsController, AdminPreviewController],
      providers: [AdminAuthGuard, AdminTargetsService, PreviewService, ...(role === 'api' ? API_ROLE_PROVIDERS : [])],
    };
  }
}
