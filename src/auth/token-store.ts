import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig, readSecret } from '../config/app-config.js';
import { ClientScope } from '../config/file-config.dto.js';

/** An authenticated caller. */
export interface Principal { clientId: string; scopes: ReadonlySet<ClientScope> }

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Bearer tokens of the configured clients, kept only as SHA-256 digests and compared in constant time
 * (every candidate is compared, so timing does not reveal which client matched).
 */
export class TokenStore {
  private readonly entries: Array<{ digest: Buffer; principal: Principal }>;

  constructor(config: AppConfig, env: NodeJS.ProcessEnv = process.env) {
    this.entries = config.clients.flatMap(c => {
      const token = readSecret(c.tokenEnv, env);
      return token ? [{ digest: sha256(token), principal: { clientId: c.id, scopes: new Set(c.scopes) } }] : [];
    });
  }

  /** Clients whose token env var was unset (they cannot authenticate). */
  static missingTokens(config: AppConfig, env: NodeJS.ProcessEnv = process.env): string[] {
    return config.clients.filter(c => !readSecret(c.tokenEnv, env)).map(c => `${c.id} (${c.tokenEnv})`);
  }

  /** The principal for an `Authorization` header value, or undefined. */
  authenticate(header: string | undefined): Principal | undefined {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m) return undefined;
    const digest = sha256(m[1]);
    let found: Principal | undefined;
    for (const e of this.entries) if (timingSafeEqual(e.digest, digest)) found ??= e.principal;
    return found;
  }
}
