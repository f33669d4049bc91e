import { Module } from '@nestjs/common';
import { AdminAuthGuard } from '../auth/admin-auth.guard.js';
import { PipelineModule } from '../pipeline/pipeline.module.js';
import { HrAdminController } from './hr-admin.controller.js';
import { HrEventProcessor } from './hr-event.processor.js';
import { HrIdentityWriter } from './hr-identity.writer.js';
import { HrIngressService } from './hr-ingress.service.js';
import { HrWebhookController } from './hr-webhook.controller.js';
import { HrWorkerService } from './hr-worker.service.js';

/** HR webhook ingress (api and all roles): verify, store raw event + scheduled changes + outbox row; `/admin/hr` listing. */
@Module({
  controllers: [HrWebhookController, HrAdminController],
  providers: [HrIngressService, AdminAuthGuard],
})
export class HrIngressModule {}

/** HR worker side (worker and all roles): `hr-events`, `hr-due` and the scheduled-change sweep. */
@Module({
  imports: [PipelineModule],
  providers: [HrIdentityWriter, HrEventProcessor, HrWorkerService],
  exports: [HrWorkerService, HrEventProcessor],
})
export class HrWorkerModule {}
