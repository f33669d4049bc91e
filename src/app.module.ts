import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from './config/app-config.js';
import { Role } from './config/env.js';
import { CoreModule } from './core.module.js';
import { HrIngressModule, HrWorkerModule } from './hr/hr.module.js';
import { AdminModule } from './ops/admin/admin.module.js';
import { OpsModule } from './ops/ops.module.js';
import { PipelineModule } from './pipeline/pipeline.module.js';
import { ScimModule } from './scim/scim.module.js';

/** Composes the modules a role needs: `api` serves HTTP, `worker` runs the pipeline, `all` both. */
@Module({})
export class AppModule {
  static forRole(role: Role, config: AppConfig): DynamicModule {
    const imports: DynamicModule['imports'] = [CoreModule.forConfig(config), OpsModule];
    if (role !== 'worker') imports.push(ScimModule, AdminModule.forRole(role), HrIngressModule);
    if (role !== 'api') imports.push(PipelineModule, HrWorkerModule);
    return { module: AppModule, imports };
  }
}
