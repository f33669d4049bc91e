import { Controller } from '@nestjs/common';
import { ScimResourceController } from './scim-resource.controller.js';

/** `/scim/v2/Groups` (RFC 7644 §3). */
@Controller('scim/v2/Groups')
export class GroupsController extends ScimResourceController {
  protected readonly type = 'Group' as const;
}
