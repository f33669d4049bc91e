import { Controller } from '@nestjs/common';
import { ScimResourceController } from './scim-resource.controller.js';

/** `/scim/v2/Users` (RFC 7644 §3). */
@Controller('scim/v2/Users')
export class UsersController extends ScimResourceController {
  protected readonly type = 'User' as const;
}
