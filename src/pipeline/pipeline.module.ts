import { Module } from '@nestjs/common';
import { CircuitService } from '../targets/circuit.service.js';
import { DeletionGuardService } from '../targets/deletion-guard.service.js';
import { TargetStateService } from '../targets/target-state.service.js';
import { GroupMembershipPusher } from '../targets/group-membership.pusher.js';
import { PushProcessor } from '../targets/push.processor.js';
import { PushEngine } from '../targets/push/push-engine.js';
import { ReportsFinder } from '../targets/push/references.js';
import { TargetClients } from '../targets/target-clients.service.js';
import { TargetLinkService } from '../targets/target-link.service.js';
import { FanOutProcessor } from './fan-out.processor.js';
import { JobQueueService } from './job-queue.service.js';
import { OutboxRelayService } from './outbox-relay.service.js';
import { ReconcileSweepService } from './reconcile-sweep.service.js';
import { TargetInterest } from './target-interest.service.js';
import { WorkerHostService } from './worker-host.service.js';

/** The worker side: outbox relay, fan-out, push workers, circuits, reconcile sweep. Only the worker and all roles import it. */
@Module({
  providers: [
    JobQueueService, OutboxRelayService, FanOutProcessor, PushProcessor, PushEngine, ReportsFinder, GroupMembershipPusher, TargetClients, TargetLinkService,
    CircuitService, WorkerHostService, ReconcileSweepService, DeletionGuardService, TargetStateService, TargetInterest,
  ],
  exports: [JobQueueService, OutboxRelayService, ReconcileSweepService, TargetLinkService, CircuitService, DeletionGuardService, TargetStateService],
})
export class PipelineModule {}
