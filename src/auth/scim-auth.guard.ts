import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ScimError } from '../scim/scim.error.js';
import { Principal, TokenStore } from './token-store.js';

/** Request with the authenticated SCIM client attached. */
export type AuthedRequest = Request & { principal?: Principal };

/**
 * Bearer auth for `/scim/v2` (RFC 7644 §2): 401 without a valid token; 403 when the token lacks
 * `scim:write` for a write, or `scim:read` for a read. `POST …/.search` is a read.
 */
@Injectable()
export class ScimAuthGuard implements CanActivate {
  constructor(private readonly tokens: TokenStore) {}

  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const principal = this.tokens.authenticate(req.headers.authorization);
    if (!principal) throw ScimError.unauthorized();
    const isRead = req.method === 'GET' || req.method === 'HEAD' || (req.method === 'POST' && /\/\.search\/?$/.test(req.path));
    const need = isRead ? 'scim:read' : 'scim:write';
    if (!principal.scopes.has(need)) throw ScimError.forbidden(`This token lacks the ${need} scope`);
    req.principal = principal;
    return true;
  }
}
