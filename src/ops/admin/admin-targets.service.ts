import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig, TargetConfig } from '../../config/app-config.js';
import { DbService } from '../../db/db.service.js';
import { JobQueueService, SWEEP_PRIORITY } from '../../pipeline/job-queue.service.js';
import { PushJobData, PushMode } from '../../pipeline/job.types.js';
import { ResourceTypeName } from '../../scim/scim.constants.js';
import { CircuitService } from '../../targets/circuit.service.js';
import { DeletionGuardService } from '../../targets/deletion-guard.service.js';
import { CircuitDto, QuarantineDto, QueueCountsDto, TargetDetailDto, TargetMappingsDto, TargetSummaryDto } from './dto/target.dto.js';
import { ProblemError } from './problem.js';

/** Resources enqueued per round trip by a resync. */
const RESYNC_PAGE = 1000;
/** Config keys whose values could be secrets if someone put one there; only `…Env` names are shown. */
const SECRETISH = /(secret|password|token|credential|apikey|api_key|privatekey)/i;

/**
 * Read side of the admin API for targets (config, queue, circuit, quarantine, links) and the resync
 * operation. Every enqueue goes through JobQueueService's one helper, so the per-resource key holds.
 */
@Injectable()
export class AdminTargetsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DbService,
    private readonly jobs: JobQueueService,
    private readonly circuits: CircuitService,
    private readonly guard: DeletionGuardService,
  ) {}

  /** The configured target, or a 404 problem. */
  target(id: string): TargetConfig {
    const t = this.config.targets.find(x => x.id === id);
    if (!t) throw ProblemError.unknownTarget(id);
    return t;
  }

  async list(): Promise<TargetSummaryDto[]> {
    const links = await this.linkCounts();
    return Promise.all(this.config.targets.map(t => this.summary(t, links.get(t.id) ?? {})));
  }

  async detail(id: string): Promise<TargetDetailDto> {
    const t = this.target(id);
    const links = await this.linkCounts(id);
    return { ...(await this.summary(t, links.get(id) ?? {})), config: redact(t) as Record<string, unknown> };
  }

  mappings(id: string): TargetMappingsDto {
    const t = this.target(id);
    return { targetId: t.id, passThrough: t.passThrough, mappings: t.mappings.map(m => ({ ...m }) as Record<string, unknown>) };
  }

  /**
   * Enqueues a push of every resource the target holds or should hold — linked ones (not yet
   * deprovisioned) and live ones of its resource types — at sweep priority, with `mode`. The push
   * processor decides each (scope, deprovision policy), as for any other push.
   */
  async resync(id: string, mode: PushMode, only?: ResourceTypeName): Promise<{ runId: string; enqueued: number; resourceTypes: ResourceTypeName[] }> {
    const t = this.target(id);
    const types = only ? t.resourceTypes.filter(x => x === only) : t.resourceTypes;
    const runId = `rs${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    if (!types.length) return { runId, enqueued: 0, resourceTypes: [] };
    const p = (n: number) => (this.db.isPostgres ? `$${n}` : '?');
    const typeList = types.map(x => `'${x === 'Group' ? 'Group' : 'User'}'`).join(',');
    let enqueued = 0;
    for (let after = ''; ;) {
      const rows: Array<{ id: string; resource_type: ResourceTypeName; version: number }> = await this.db.manager.query(
        `SELECT r.id, r.resource_type, r.version FROM scim_resource r
           LEFT JOIN target_link l ON l.resource_id = r.id AND l.target_id = ${p(1)}
          WHERE r.resource_type IN (${typeList}) AND r.id > ${p(2)}
            AND (r.deleted_at IS NULL OR (l.resource_id IS NOT NULL AND l.status <> 'deprovisioned'))
          ORDER BY r.id LIMIT ${RESYNC_PAGE}`,
        [t.id, after],
      );
      await this.jobs.enqueuePushes(t.id, rows.map(r => ({
        data: { targetId: t.id, resourceType: r.resource_type, resourceId: r.id, version: r.version, mode, correlationId: `resync-${runId}` } satisfies PushJobData,
        trigger: { kind: 'sweep' as const, runId },
      })), SWEEP_PRIORITY);
      enqueued += rows.length;
      if (rows.length < RESYNC_PAGE) break;
      after = rows[rows.length - 1].id;
    }
    return { runId, enqueued, resourceTypes: types };
  }

  private async summary(t: TargetConfig, links: Record<string, number>): Promise<TargetSummaryDto> {
    const [queue, paused, circuit, quarantine] = await Promise.all([this.queueCounts(t.id), this.isPaused(t.id), this.circuitOf(t), this.quarantineOf(t.id)]);
    return { id: t.id, baseUrl: t.baseUrl, resourceTypes: [...t.resourceTypes], queue, paused, circuit, quarantine, links };
  }

  /** The circuit as every process sees it (Redis); `unknown` when Redis cannot be read. */
  private async circuitOf(t: TargetConfig): Promise<CircuitDto> {
    try {
      const { targetId: _id, ...snapshot } = await withTimeout(this.circuits.state(t.id), 2000);
      return snapshot;
    } catch {
      return { state: 'unknown', since: null, lastError: null, failures: 0, failureThreshold: t.circuit.failureThreshold, probeIntervalMs: t.circuit.probeIntervalMs };
    }
  }

  private async quarantineOf(id: string): Promise<QuarantineDto> {
    try {
      const { quarantined, since, reason, windowCount, held, limits } = await withTimeout(this.guard.status(id), 2000);
      return { state: quarantined ? 'quarantined' : 'none', since, reason, windowCount, held, limits: { ...limits } };
    } catch {
      return { state: 'unknown', since: null, reason: null, windowCount: null, held: null };
    }
  }

  private async queueCounts(id: string): Promise<QueueCountsDto | null> {
    try {
      const c = await withTimeout(this.jobs.pushQueue(id).getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'), 2000);
      return { waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, prioritized: c.prioritized ?? 0, failed: c.failed ?? 0 };
    } catch {
      return null;
    }
  }

  private async isPaused(id: string): Promise<boolean | null> {
    try {
      return await withTimeout(this.jobs.pushQueue(id).isPaused(), 2000);
    } catch {
      return null;
    }
  }

  /** Link counts by status, per target (one target when `only` is given). */
  private async linkCounts(only?: string): Promise<Map<string, Record<string, number>>> {
    const where = only ? `WHERE target_id = ${this.db.isPostgres ? '$1' : '?'}` : '';
    const rows: Array<{ target_id: string; status: string; n: string | number }> = await this.db.manager.query(
      `SELECT target_id, status, COUNT(*) AS n FROM target_link ${where} GROUP BY target_id, status`, only ? [only] : [],
    );
    const out = new Map<string, Record<string, number>>();
    for (const r of rows) (out.get(r.target_id) ?? out.set(r.target_id, {}).get(r.target_id)!)[r.status] = Number(r.n);
    return out;
  }
}

/** A deep copy where any secret-looking key that names neither an env var (`…Env`) nor a URL (`tokenUrl`) is dropped. */
function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (SECRETISH.test(k) && !/(Env|Url)$/.test(k) && typeof v !== 'object') continue;
      out[k] = redact(v);
    }
    return out;
  }
  return value;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), ms).unref())]);
}
