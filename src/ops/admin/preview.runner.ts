import { In, MoreThan } from 'typeorm';
import { AppConfig, buildAppConfig, TargetConfig } from '../../config/app-config.js';
import { ConfigError } from '../../config/config.error.js';
import type { EnvConfig } from '../../config/env.js';
import type { Json } from '../../common/json.util.js';
import { DbService } from '../../db/db.service.js';
import { ResourceService } from '../../identity/resource.service.js';
import { ScimResourceEntity } from '../../identity/scim-resource.entity.js';
import { compileTargetRules, rulesFor } from '../../mapping/target-rules.js';
import { planPush, PreviewAccumulator, PreviewOptions, PreviewReport, PreviewSubject } from '../../mapping/preview.js';
import { RateBudgetExhaustedError } from '../../targets/rate-budget.js';
import { ScimClient, ScimClientOptions } from '../../targets/scim-client.js';
import { findRemoteMatch } from '../../targets/push/matching.js';
import { TracedClient } from '../../targets/push/traced-client.js';
import { PushTrace } from '../../targets/push-trace.js';
import { TargetLinkEntity } from '../../targets/target-link.entity.js';
import { targetScope } from '../../targets/target-rules.js';

/** Resources read per page: the population is streamed, never loaded whole. */
export const PREVIEW_PAGE_SIZE = 500;

/** Options of {@link runPreview}. */
export interface RunPreviewOptions extends PreviewOptions {
  /** Ask the target, read-only, whether each would-be create matches an existing account (a link). */
  match?: boolean;
  /** Client options for matching, e.g. the target's rate budget (the GETs spend it like pushes do). */
  client?: ScimClientOptions;
  pageSize?: number;
}

/**
 * Validates a candidate target block — the same shape as one `targets:` entry of `switchboard.yaml`,
 * checked by the same config code — and returns it resolved. `idOverride` fills or must equal `id`.
 * Throws ConfigError listing every problem, keys relative to the block (`baseUrl: …`).
 */
export function resolveCandidateTarget(block: unknown, env: EnvConfig, idOverride?: string): TargetConfig {
  if (block === null || typeof block !== 'object' || Array.isArray(block)) {
    throw new ConfigError('target block', ['top level: must be a mapping (one entry of targets:)']);
  }
  const doc = { ...(block as Record<string, unknown>) };
  if (idOverride !== undefined) {
    if (doc.id !== undefined && doc.id !== idOverride) throw new ConfigError('target block', [`id: "${String(doc.id)}" differs from the target id "${idOverride}" in the request`]);
    doc.id = idOverride;
  }
  let config: AppConfig;
  try {
    config = buildAppConfig({ targets: [doc] }, { ...env, configPath: 'target block' });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError('target block', e.problems.map(p => p.replace(/^targets\[0\]\.?/, '').replace(/^:/, 'top level:')));
    throw e;
  }
  const target = config.targets[0];
  try {
    // Mapping paths, expressions, scope and group filter: the checks a start-up runs.
    compileTargetRules(target);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError('target block', e.problems.map(p => p.replace(/^target [^:]+: /, '').replace(/^(\S+) \([^)]*\):/, '$1:')));
    throw e;
  }
  return target;
}

/**
 * Dry run of one target over the whole canonical population (DESIGN.md, mapping/ "preview / dry run"):
 * pages through every resource of the target's types (tombstones that still have a link there
 * included), with its groups and its link at `target.id`, and decides what a real run would do
 * ({@link planPush}). Nothing is written and nothing is enqueued; with `match`, would-be creates are
 * checked at the target with the push engine's matching (read-only GETs, `?filter=<attribute> eq …`);
 * an ambiguous match is reported as an error, as a real push dead-letters it.
 */
export async function runPreview(db: DbService, target: TargetConfig, opts: RunPreviewOptions = {}): Promise<PreviewReport> {
  const acc = new PreviewAccumulator(target.id, { deletionGuard: target.deletionGuard, ...opts });
  const resources = new ResourceService(db);
  const client = opts.match ? new ScimClient(target, undefined, opts.client) : undefined;
  const pageSize = opts.pageSize ?? PREVIEW_PAGE_SIZE;
  // manager.value is sent as the manager's id at the target: known only for managers synced there.
  let unresolvedManagers = 0;
  const scope = targetScope(target);
  const rules = rulesFor(target);
  const needGroups = rules.referencesGroups || rules.mappings.some(m => m.expression);
  const resolver = {
    async resolveReference(canonicalId: string): Promise<string | undefined> {
      const l = await db.manager.findOneBy(TargetLinkEntity, { targetId: target.id, resourceId: canonicalId });
      const remoteId = l?.status === 'synced' && l.remoteId ? l.remoteId : undefined;
      if (!remoteId) unresolvedManagers++;
      return remoteId;
    },
  };
  try {
    if (client) acc.matchedAtTarget();
    for (let after = ''; ;) {
      // Keyset paging on the primary key alone: a resource-type condition here lets SQLite pick the
      // type index and sort every remaining row per page (quadratic over 100k users).
      const page = await db.manager.find(ScimResourceEntity, { where: { id: MoreThan(after) }, order: { id: 'ASC' }, take: pageSize });
      if (!page.length) break;
      const rows = page.filter(r => target.resourceTypes.includes(r.resourceType));
      const ids = rows.map(r => r.id);
      const links = new Map((await db.manager.findBy(TargetLinkEntity, { targetId: target.id, resourceId: In(ids) })).map(l => [l.resourceId, l]));
      // Groups matter only to a scope that reads `groups.*` (group-based assignment) or an expression ($groups).
      const groups = needGroups ? await resources.groupsOf(rows.filter(r => r.resourceType === 'User' && !r.deletedAt).map(r => r.id)) : new Map();
      for (const row of rows) {
        const l = links.get(row.id);
        const subject: PreviewSubject = {
          resource: {
            id: row.id, resourceType: row.resourceType, externalId: row.externalId, version: row.version, active: !!row.active,
            created: row.created, lastModified: row.lastModified, deletedAt: row.deletedAt, doc: row.doc,
          },
          groups: groups.get(row.id) ?? [],
          link: l ? { status: l.status, remoteId: l.remoteId, pushedHash: l.pushedHash, pushedState: (l.pushedState as Json | null) ?? null } : undefined,
        };
        try {
          const d = await planPush(subject, target, { scope, mapping: { resolveReference: (_t, id) => resolver.resolveReference(id) } });
          if (d.outcome === 'create' && client && d.payload) {
            // The push engine's own matching (matching attributes in order, profile.matchFilter); GETs only.
            const trace = new PushTrace(false, { targetId: target.id, resourceType: row.resourceType, resourceId: row.id, mode: 'live', attempt: 0 });
            const remoteId = await withBudget(() => findRemoteMatch(new TracedClient(client, trace), target, row.resourceType, d.payload!, trace));
            if (remoteId) { acc.add(subject, { ...d, outcome: 'link' }, remoteId); continue; }
          }
          acc.add(subject, d);
        } catch (e) {
          acc.addError(subject, (e as Error).message);
        }
      }
      if (page.length < pageSize) break;
      after = page[page.length - 1].id;
    }
  } finally {
    await client?.close();
  }
  if (unresolvedManagers) {
    acc.note(`${unresolvedManagers} user(s) reference a manager not synced at this target yet: they are counted without manager.value; a real run sends it in a follow-up update once the manager exists`);
  }
  return acc.finish();
}

/** Longest a preview waits for the target's rate budget per match before reporting an error. */
const MATCH_BUDGET_WAIT_MS = 60_000;

/** Runs `fn` again when the target's rate budget is spent: a preview waits its turn rather than failing. */
async function withBudget<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + MATCH_BUDGET_WAIT_MS;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof RateBudgetExhaustedError) || Date.now() + e.retryAfterMs > deadline) throw e;
      await new Promise(r => setTimeout(r, e.retryAfterMs));
    }
  }
}
