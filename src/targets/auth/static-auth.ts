import { readSecret } from '../../config/app-config.js';
import type { TargetAuthConfig } from '../../config/target-auth.dto.js';
import { TargetError, TargetErrorKind } from '../target.error.js';
import type { AuthHeaders, TargetAuth } from './target-auth.js';

/**
 * Credentials that do not change while the process runs: `bearer` (RFC 6750 §2.1), `basic`
 * (RFC 7617), a custom `header` (e.g. `X-API-Key`), or `none`. Read once from env; a missing env var
 * fails every request as TargetDown, so the circuit opens instead of each job burning its attempts.
 */
export class StaticAuth implements TargetAuth {
  private readonly fixed: AuthHeaders = {};
  private readonly problem: string | undefined;

  constructor(auth: TargetAuthConfig, env: NodeJS.ProcessEnv = process.env) {
    if (auth.type === 'bearer') {
      const token = readSecret(auth.tokenEnv, env);
      if (token) this.fixed.authorization = `Bearer ${token}`;
      else this.problem = `bearer token env var ${auth.tokenEnv ?? '(unset)'} is empty`;
    } else if (auth.type === 'basic') {
      const user = readSecret(auth.usernameEnv, env);
      const password = readSecret(auth.passwordEnv, env);
      if (user !== undefined && password !== undefined) {
        this.fixed.authorization = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
      } else {
        this.problem = `basic credentials env vars ${auth.usernameEnv ?? '(unset)'}/${auth.passwordEnv ?? '(unset)'} are empty`;
      }
    } else if (auth.type === 'header') {
      const value = readSecret(auth.valueEnv, env);
      if (value && auth.headerName) this.fixed[auth.headerName.toLowerCase()] = value;
      else this.problem = `header ${auth.headerName ?? '(unset)'} env var ${auth.valueEnv ?? '(unset)'} is empty`;
    }
  }

  headers(): Promise<AuthHeaders> {
    if (this.problem) return Promise.reject(new TargetError(TargetErrorKind.TargetDown, { detail: this.problem }));
    return Promise.resolve(this.fixed);
  }

  rejected(): boolean {
    return false;
  }

  async close(): Promise<void> {}
}
