import { Inject, Injectable } from '@nestjs/common';
import { parse as parseYaml } from 'yaml';
import { APP_CONFIG, AppConfig, TargetConfig } from '../../config/app-config.js';
import { ConfigError } from '../../config/config.error.js';
import { SENSITIVE_ENV_KEYS } from '../../config/env.js';
import { DbService } from '../../db/db.service.js';
import { JobQueueService } from '../../pipeline/job-queue.service.js';
import { RateBudget } from '../../targets/rate-budget.js';
import type { PreviewReport } from '../../mapping/preview.js';
import { ProblemError, ProblemFieldError, ProblemType } from './problem.js';
import { resolveCandidateTarget, runPreview, RunPreviewOptions } from './preview.runner.js';

/**
 * Dry run of a candidate target block for the admin API: parse (JSON object or YAML text), validate with
 * the config code (every problem → one 400 problem), then {@link runPreview} over the whole population.
 */
@Injectable()
export class PreviewService {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig, private readonly db: DbService, private readonly jobs: JobQueueService) {}

  async preview(targetId: string, body: unknown, opts: RunPreviewOptions): Promise<PreviewReport> {
    const block = typeof body === 'string' ? parseYamlBlock(body) : body;
    let target: TargetConfig;
    try {
      target = resolveCandidateTarget(block, this.config.env, targetId);
    } catch (e) {
      if (e instanceof ConfigError) throw ProblemError.invalidTarget(e.problems.map(toFieldError));
      throw e;
    }
    if (opts.match) this.assertCredentialsStayHome(target);
    // Matching GETs spend the target's rate budget, shared with the pushes of every process.
    const budget = opts.match ? RateBudget.forTarget(target, this.jobs.connection, this.config.env.queuePrefix) : undefined;
    return runPreview(this.db, target, { ...opts, client: budget ? { budget } : undefined });
  }

  /**
   * `match` sends the block's credentials to the block's baseUrl. So that an admin token cannot make
   * the gateway hand a secret to another host: env vars of SCIM clients and of the gateway itself are
   * refused, and a configured target's env vars may go only to that target's origin.
   */
  private assertCredentialsStayHome(target: TargetConfig): void {
    const named = Object.entries(target.auth).filter(([k, v]) => /Env$/.test(k) && typeof v === 'string').map(([, v]) => v as string);
    const clientEnvs = new Set(this.config.clients.map(c => c.tokenEnv));
    const origin = new URL(target.baseUrl).origin;
    const errors: ProblemFieldError[] = [];
    for (const env of named) {
      if (clientEnvs.has(env) || SENSITIVE_ENV_KEYS.includes(env)) errors.push({ pointer: '/auth', detail: `${env} holds a gateway secret and cannot be sent to a target` });
      for (const t of this.config.targets) {
        const uses = Object.entries(t.auth).some(([k, v]) => /Env$/.test(k) && v === env);
        if (uses && new URL(t.baseUrl).origin !== origin) errors.push({ pointer: '/auth', detail: `${env} is target ${t.id}'s credential and may only be sent to ${new URL(t.baseUrl).origin}` });
      }
    }
    if (errors.length) throw new ProblemError(403, ProblemType.CredentialsRefused, 'Credentials refused for matching', 'match=true would send a credential to a host it does not belong to', errors);
  }
}

function parseYamlBlock(text: string): unknown {
  try {
    const doc = parseYaml(text) as unknown;
    // A whole file (`targets: [ … ]`) with exactly one target is accepted too.
    if (doc && typeof doc === 'object' && !Array.isArray(doc) && Array.isArray((doc as { targets?: unknown }).targets)) {
      const list = (doc as { targets: unknown[] }).targets;
      if (list.length !== 1) throw ProblemError.validation([{ pointer: '/targets', detail: `must hold exactly one target to preview (found ${list.length})` }]);
      return list[0];
    }
    return doc;
  } catch (e) {
    if (e instanceof ProblemError) throw e;
    throw ProblemError.validation([{ pointer: '', detail: `not valid YAML: ${(e as Error).message.split('\n')[0]}` }], 'Request body is not valid YAML');
  }
}

/** `mappings[2].target: must …` → pointer `/mappings/2/target`. */
function toFieldError(problem: string): ProblemFieldError {
  const m = /^([^:\s]+):\s/.exec(problem);
  const path = m && m[1] !== 'top' ? m[1] : '';
  return { pointer: path ? `/${path.replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean).join('/')}` : '', detail: problem };
}
