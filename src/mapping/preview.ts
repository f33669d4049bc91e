import type { TargetConfig } from '../config/app-config.js';
import type { Json } from '../common/json.util.js';
import type { StoredResource } from '../identity/resource.types.js';
import type { ResourceTypeName } from '../scim/scim.constants.js';
import type { LinkStatus } from '../targets/target-link.entity.js';
import { diffMapped, hashMapped } from './diff.js';
import { createPayloadOf, mapResource, MappingContext } from './map-resource.js';
import type { GroupRef } from './scope.js';
import { rulesFor } from './target-rules.js';

/**
 * What a real run would do to one resource at one target:
 * - `create`: no account there yet (offline this also covers a match the target would `link` — see notes);
 * - `link`: an existing remote account matches (known only when matching was asked for);
 * - `update`: the mapped state differs from the link's last pushed state (`attributes` names what changes);
 * - `deprovision`: disable / delete / leave, per the target's deprovision policy (`reason` says why);
 * - `unchanged`: linked and already equal;
 * - `skip`: never provisioned and not wanted (out of scope, inactive, deleted).
 */
export type PreviewOutcome = 'create' | 'link' | 'update' | 'deprovision' | 'unchanged' | 'skip';
export const PREVIEW_OUTCOMES: readonly PreviewOutcome[] = ['create', 'link', 'update', 'deprovision', 'unchanged', 'skip'];

/** Why a resource is deprovisioned or skipped. */
export type PreviewReason = 'outOfScope' | 'inactive' | 'deleted';

/** The link a resource already has at the target (none for a new target). */
export interface PreviewLink {
  status: LinkStatus;
  remoteId: string | null;
  pushedHash: string | null;
  pushedState: Json | null;
}

/** One member of the population: a canonical resource (live or tombstone), its groups, its link. */
export interface PreviewSubject {
  resource: StoredResource;
  /** Users: direct groups, for group-based scope (`groups.value` / `groups.display`). */
  groups?: readonly GroupRef[];
  link?: PreviewLink;
}

/** The decision for one subject. */
export interface PreviewDecision {
  outcome: PreviewOutcome;
  reason?: PreviewReason;
  /** `deprovision`: what is sent (`none` leaves the account and releases the link). */
  action?: 'disable' | 'delete' | 'none';
  /** `update`: target attribute paths that change; `create`: attribute names sent. */
  attributes?: string[];
  /** `update`: the PATCH operations (values included; reported only when values are asked for). */
  operations?: Array<{ op: string; path?: string; value?: unknown }>;
  /** `create` / `update`: the mapped payload a push would send (used for matching; values only on request). */
  payload?: Json;
}

/** Who a target wants, as the pipeline asks it of stored resources. */
export interface PlanScope {
  /** Users: inside `scope` (with `groups` for group-based assignment). */
  inScope(resource: StoredResource, groups?: readonly GroupRef[]): boolean;
  /** Groups: selected by `groups: all | none | { filter }`. */
  groupSelected(group: StoredResource): boolean;
}

/** What the planner needs beyond the subject. */
export interface PlanContext {
  /** Default: the target's compiled rules; the runner passes the pipeline's own view so both agree. */
  scope?: PlanScope;
  /** As the push engine passes it: `resolveReference` (manager.value → the manager's id at the target). */
  mapping?: Omit<MappingContext, 'groups'>;
}

/**
 * Decides what a push of `subject` to `target` would do, without I/O of its own. Mirrors the pipeline:
 * who gets a new link (TargetInterest: live, type taken, a user active — or inactive where deactivation
 * means `disable`, so it is created disabled — and in scope; a group selected by `groups`); what the
 * push processor decides (deleted → `onDelete`; inactive user → `onDeactivate`; out of scope →
 * `onOutOfScope` unless `skipOutOfScopeDeletions`; groups are deleted or left, never disabled); and what
 * the push engine sends (map with the user's groups and the reference resolver, set `active`, equal
 * hash → nothing, else the intent-respecting diff against the link's last pushed state). Throws
 * MappingError for a mapping that cannot apply.
 */
export async function planPush(subject: PreviewSubject, target: TargetConfig, ctx: PlanContext = {}): Promise<PreviewDecision> {
  const { resource: r, link } = subject;
  const type = r.resourceType;
  const rules = rulesFor(target);
  const scope: PlanScope = ctx.scope ?? { inScope: (x, g) => rules.inScope(x, g), groupSelected: x => rules.groupSelected(x) };
  const accountThere = !!link?.remoteId && link.status !== 'deprovisioned';
  const policy = target.deprovision;
  const groupAction = (a: 'disable' | 'delete' | 'none') => (a === 'delete' ? 'delete' : 'none');
  const inactive = type === 'User' && !r.active && !r.deletedAt;

  let disabling = false;
  let reason: PreviewReason | undefined;
  const doc = r.doc as Json;
  if (r.deletedAt || !target.resourceTypes.includes(type)) {
    if (!accountThere) return { outcome: 'skip', reason: 'deleted' };
    const action = type === 'Group' ? groupAction(policy.onDelete) : policy.onDelete;
    // A disable converges the mapped state with active false (the push engine), so mapping changes still go.
    if (action !== 'disable') return deprovision(action, 'deleted', link!);
    disabling = true;
    reason = 'deleted';
  } else {
    const wanted = type === 'Group' ? scope.groupSelected(r) : scope.inScope(r, subject.groups ?? []);
    if (!accountThere) {
      // TargetInterest / processor: never provisioned there.
      if (inactive && policy.onDeactivate !== 'disable') return { outcome: 'skip', reason: 'inactive' };
      if (!wanted) return { outcome: 'skip', reason: 'outOfScope' };
      disabling = inactive;
    } else if (inactive) {
      if (policy.onDeactivate === 'delete') return deprovision('delete', 'inactive', link!);
      disabling = policy.onDeactivate === 'disable';
      reason = 'inactive';
    } else if (!wanted) {
      const action = type === 'Group' ? groupAction(policy.onOutOfScope) : policy.onOutOfScope;
      const done = action === 'disable' && link!.status === 'out_of_scope' && link!.pushedState?.active === false;
      if (target.skipOutOfScopeDeletions || done) return { outcome: 'skip', reason: 'outOfScope' };
      if (action !== 'disable') return deprovision(action, 'outOfScope', link!);
      disabling = true;
      reason = 'outOfScope';
    }
  }

  const mapped = await mapResource(
    { id: r.id, resourceType: type, created: r.created, lastModified: r.lastModified, doc },
    target, { ...ctx.mapping, groups: type === 'User' ? subject.groups ?? [] : undefined },
  );
  const payload = mapped.payload;
  const prev = accountThere ? link!.pushedState ?? undefined : undefined;
  if (type === 'User') {
    if (disabling) payload.active = false;
    else if (inactive) payload.active = (prev?.active as boolean | undefined) ?? true;
    else payload.active = true;
  }
  if (!accountThere) {
    const sent = createPayloadOf(mapped, payload);
    return { outcome: 'create', attributes: Object.keys(sent).filter(k => k !== 'schemas'), payload: sent };
  }
  if (link!.pushedHash === hashMapped(payload)) return reason ? { outcome: 'unchanged', reason } : { outcome: 'unchanged' };
  const ops = diffMapped(prev, payload, rules.intent(type));
  if (!ops.length) return reason ? { outcome: 'unchanged', reason } : { outcome: 'unchanged' };
  if (disabling && prev?.active !== false) {
    return { outcome: 'deprovision', action: 'disable', reason, attributes: opPaths(ops), operations: ops, payload };
  }
  return { outcome: 'update', attributes: opPaths(ops), operations: ops, payload };
}

function deprovision(action: 'disable' | 'delete' | 'none', reason: PreviewReason, link: PreviewLink): PreviewDecision {
  // Already disabled by us: a disable sends nothing.
  if (action === 'disable' && link.pushedState?.active === false) return { outcome: 'unchanged', reason };
  return { outcome: 'deprovision', action, reason };
}

/** Attribute paths an operation list touches (a path-less op names the keys of its value). */
function opPaths(ops: Array<{ path?: string; value?: unknown }>): string[] {
  const paths = ops.flatMap(o => (o.path ? [o.path] : o.value && typeof o.value === 'object' ? Object.keys(o.value) : []));
  return [...new Set(paths)];
}

/** A sample of one outcome: ids and attribute names; values only when asked for. */
export interface PreviewSample {
  resourceType: ResourceTypeName;
  resourceId: string;
  /** userName (Users) / displayName (Groups): an operator recognises people, not uuids. */
  name?: string;
  reason?: PreviewReason;
  action?: string;
  attributes?: string[];
  /** Only with `includeValues`: the PATCH operations (update) or the payload (create / link). */
  values?: unknown;
  /** With matching: the remote id found (link) . */
  remoteId?: string;
}

/** Counts of one resource type. */
export type OutcomeCounts = Record<PreviewOutcome, number>;

/** The whole preview: counts per outcome, breakdowns, a few samples each. */
export interface PreviewReport {
  targetId: string;
  /** True when no link exists for this target id yet (every account would be new). */
  newTarget: boolean;
  /** `offline`: link vs create not checked (creates may turn into links); `target`: read-only GETs told them apart. */
  matching: 'offline' | 'target';
  scanned: number;
  counts: OutcomeCounts;
  byResourceType: Record<string, OutcomeCounts>;
  /** `deprovision` by action and by reason. */
  deprovision: { byAction: Record<string, number>; byReason: Record<string, number> };
  /** `skip` by reason. */
  skip: Record<string, number>;
  /** `update`: how many resources change each attribute. */
  updatedAttributes: Record<string, number>;
  samples: Record<PreviewOutcome, PreviewSample[]>;
  /** Resources whose mapping failed (a real push would dead-letter them), with the error. */
  errors: Array<{ resourceType: string; resourceId: string; error: string }>;
  notes: string[];
  durationMs: number;
}

/** Options of one preview run. */
export interface PreviewOptions {
  /** Samples kept per outcome (default 5). */
  samples?: number;
  /** Include attribute values in samples (default false: names only). */
  includeValues?: boolean;
  /** The target's mass-deletion guard: the report says when the deprovisions would quarantine it. */
  deletionGuard?: { enabled: boolean; maxDeprovisions: number; maxPercent: number; minLinkedForPercent: number };
}

/** Collects decisions into a {@link PreviewReport}; constant memory whatever the population size. */
export class PreviewAccumulator {
  private readonly zero = (): OutcomeCounts => ({ create: 0, link: 0, update: 0, deprovision: 0, unchanged: 0, skip: 0 });
  private readonly report: PreviewReport;
  private readonly started = Date.now();
  private readonly sampleCap: number;
  /** Accounts synced at the target: the deletion guard's percentage base. */
  private linked = 0;

  constructor(targetId: string, private readonly opts: PreviewOptions = {}) {
    this.sampleCap = Math.max(0, Math.min(opts.samples ?? 5, 100));
    this.report = {
      targetId, newTarget: true, matching: 'offline', scanned: 0, counts: this.zero(), byResourceType: {},
      deprovision: { byAction: {}, byReason: {} }, skip: {}, updatedAttributes: {},
      samples: { create: [], link: [], update: [], deprovision: [], unchanged: [], skip: [] }, errors: [], notes: [], durationMs: 0,
    };
  }

  add(subject: PreviewSubject, d: PreviewDecision, remoteId?: string): void {
    const r = this.report;
    const type = subject.resource.resourceType;
    r.scanned++;
    if (subject.link) r.newTarget = false;
    if (subject.link?.status === 'synced' && subject.link.remoteId) this.linked++;
    r.counts[d.outcome]++;
    (r.byResourceType[type] ??= this.zero())[d.outcome]++;
    if (d.outcome === 'deprovision') {
      bump(r.deprovision.byAction, d.action ?? 'none');
      bump(r.deprovision.byReason, d.reason ?? 'unknown');
    }
    if (d.outcome === 'skip') bump(r.skip, d.reason ?? 'unknown');
    if (d.outcome === 'update') for (const a of d.attributes ?? []) bump(r.updatedAttributes, a);
    const list = r.samples[d.outcome];
    if (list.length < this.sampleCap) {
      const doc = subject.resource.doc as Record<string, unknown>;
      const name = type === 'User' ? doc.userName : doc.displayName;
      const sample: PreviewSample = { resourceType: type, resourceId: subject.resource.id };
      if (typeof name === 'string') sample.name = name;
      if (d.reason) sample.reason = d.reason;
      if (d.action) sample.action = d.action;
      if (d.attributes) sample.attributes = d.attributes;
      if (remoteId) sample.remoteId = remoteId;
      if (this.opts.includeValues) {
        if (d.outcome === 'update' || d.outcome === 'deprovision') sample.values = d.operations;
        else if (d.payload) sample.values = d.payload;
      }
      list.push(sample);
    }
  }

  addError(subject: PreviewSubject, error: string): void {
    this.report.scanned++;
    if (subject.link) this.report.newTarget = false;
    if (this.report.errors.length < 100) this.report.errors.push({ resourceType: subject.resource.resourceType, resourceId: subject.resource.id, error });
  }

  /** Adds a note to the report. */
  note(message: string): void {
    this.report.notes.push(message);
  }

  /** Marks that matching ran against the target. */
  matchedAtTarget(): void {
    this.report.matching = 'target';
  }

  finish(): PreviewReport {
    const r = this.report;
    if (r.matching === 'offline' && r.counts.create > 0) {
      r.notes.push('link vs create is not knowable offline: a create may instead link an existing account that matches at the target; run with match=true to ask the target (read-only GETs)');
    }
    if (r.counts.link > 0) r.notes.push('a linked account then receives every mapped attribute in one update (its remote state is unknown until then)');
    r.notes.push('group memberships are not previewed: member deltas follow the users\' own outcomes');
    const g = this.opts.deletionGuard;
    const removals = r.counts.deprovision - (r.deprovision.byAction.none ?? 0);
    if (g?.enabled && removals > 0) {
      const limit = Math.min(g.maxDeprovisions, this.linked >= g.minLinkedForPercent ? Math.floor((g.maxPercent / 100) * this.linked) : Infinity);
      if (removals > limit) {
        r.notes.push(`${removals} disables/deletes exceed the deletion guard (limit ${limit} within its window): a real run would quarantine the target after ${limit} and hold the rest until an operator approves or rejects`);
      }
    }

    r.durationMs = Date.now() - this.started;
    return r;
  }
}

function bump(m: Record<string, number>, key: string): void {
  m[key] = (m[key] ?? 0) + 1;
}
