import { CanActivate, ExecutionContext, ForbiddenException, Injectable, SetMetadata, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ClientScope } from '../config/file-config.dto.js';
import type { AuthedRequest } from './scim-auth.guard.js';
import { TokenStore } from './token-store.js';

/** Admin scopes (DESIGN.md, auth/). A write token does not imply read: grant both for a full operator. */
export type AdminScope = Extract<ClientScope, 'admin:read' | 'admin:write'>;

const ADMIN_SCOPE_KEY = 'switchboard:admin-scope';

/** Names the scope a handler needs; without it GET/HEAD need `admin:read` and anything else `admin:write`. */
export const RequireAdminScope = (scope: AdminScope) => SetMetadata(ADMIN_SCOPE_KEY, scope);

/**
 * Bearer auth for `/admin` with the same token store as `/scim/v2` (clients in `switchboard.yaml`):
 * 401 without a valid token, 403 when the token lacks the admin scope the route needs — so a SCIM-only
 * token is refused here, as an admin-only token is refused by {@link ScimAuthGuard}. Throws Nest
 * HttpExceptions; the admin problem filter renders them (RFC 9457).
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(private readonly tokens: TokenStore, private readonly reflector: Reflector) {}

  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const principal = this.tokens.authenticate(req.headers.authorization);
    if (!principal) throw new UnauthorizedException('A valid bearer token is required');
    const declared = this.reflector.getAllAndOverride<AdminScope | undefined>(ADMIN_SCOPE_KEY, [ctx.getHandler(), ctx.getClass()]);
    const need: AdminScope = declared ?? (req.method === 'GET' || req.method === 'HEAD' ? 'admin:read' : 'admin:write');
    if (!principal.scopes.has(need)) throw new ForbiddenException(`This token lacks the ${need} scope`);
    req.principal = principal;
    return true;
  }
}
