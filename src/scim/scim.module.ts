import { Module } from '@nestjs/common';
import { ScimAuthGuard } from '../auth/scim-auth.guard.js';
import { BulkController } from './bulk/bulk.controller.js';
import { BulkService } from './bulk/bulk.service.js';
import { DiscoveryController } from './discovery.controller.js';
import { GroupsController } from './groups.controller.js';
import { PatchService } from './patch/patch.service.js';
import { ResourceQueryService } from './resource-query.service.js';
import { ScimUrls } from './scim-urls.js';
import { UsersController } from './users.controller.js';

/** The SCIM 2.0 service provider under `/scim/v2` (RFC 7643 / RFC 7644). Its SchemaRegistry is CoreModule's. */
@Module({
  controllers: [UsersController, GroupsController, BulkController, DiscoveryController],
  providers: [ScimAuthGuard, PatchService, BulkService, ResourceQueryService, ScimUrls],
})
export class ScimModule {}
