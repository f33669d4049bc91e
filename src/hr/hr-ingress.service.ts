import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { EntityManager, In, QueryFailedError } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { nowIso } from '../common/clock.js';
import { newCorrelationId, newId } from '../common/ids.js';
import { APP_CONFIG, AppConfig, readSecret } from '../config/app-config.js';
import { HR_ACTIONS, HrAction, HrSourceConfig } from '../config/hr-config.dto.js';
import { DbService } from '../db/db.service.js';
import { MetricsService } from '../ops/metrics.service.js';
import { effectiveInstant } from './effective-date.util.js';
import { HrEventEntity, HrEventStatus } from './hr-event.entity.js';
import { evaluate, HrExpressionError } from './hr-expression.js';
import { hrMetrics, HrMetrics } from './hr.metrics.js';
import { HR_EVENT_KIND, HR_EVENT_RESOURCE_TYPE } from './hr-queue.js';
import { ScheduledAction, ScheduledChangeEntity } from './scheduled-change.entity.js';
import { verifierFor } from './verify/verifier.factory.js';
import { header, WebhookHeaders, WebhookVerifier } from './verify/verifier.js';

/** Longest employee id stored (the `employee_id` columns). */
const MAX_EMPLOYEE_ID = 200;

/** The answer to one delivery: HTTP status and a small JSON body (never the payload). */
export interface IngressResult { status: number; body: Record<string, unknown> }

/** What the expressions of a source read from a payload. */
interface Extracted { eventId?: string; employeeId?: string; action?: HrAction; effectiveAt?: Date; sourceTs?: Date; reason?: string }

/**
 * HR webhook ingress (issue 5): verify the raw bytes, then in ONE transaction store the raw event,
 * its effective-dated changes and its outbox row — no Redis on this path, so an outage never loses
 * or bounces an event. Redelivery of a (source, event id) answers 2xx and does nothing else. Bad
 * payloads are stored as `rejected` with the reason and answered per the source's `rejectStatus`.
 */
@Injectable()
export class HrIngressService {
  private readonly log = new Logger(HrIngressService.name);
  private readonly verifiers = new Map<string, WebhookVerifier>();
  private readonly metrics: HrMetrics;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DbService,
    metrics: MetricsService,
  ) {
    this.metrics = hrMetrics(metrics.registry);
    for (const s of config.hr.sources) this.verifiers.set(s.id, verifierFor(s));
  }

  source(id: string): HrSourceConfig | undefined {
    return this.config.hr.sources.find(s => s.id === id);
  }

  /** Handles one delivery to `POST /hr/webhooks/{source.id}`. `body` is the raw bytes as received. */
  async receive(source: HrSourceConfig, headers: WebhookHeaders, body: Buffer, nowMs = Date.now()): Promise<IngressResult> {
    const handshake = await this.handshake(source, headers, body);
    if (handshake) return handshake;

    const secrets = source.secretEnvs.map(e => readSecret(e)).filter((s): s is string => !!s);
    const verdict = secrets.length ? this.verifiers.get(source.id)!.verify({ headers, body, nowMs }, secrets) : { ok: false as const, reason: 'no-secret-configured' as const };
    if (!verdict.ok) return this.refuse(source, verdict.reason);

    const { payload, parseError } = parseBody(headers, body);
    const items = parseError ? undefined : await this.items(source, payload);
    const baseId = (verdict.eventId ?? sha256(body)).slice(0, 180);
    const received = new Date(nowMs).toISOString();
    const events: Array<{ row: HrEventEntity; x: Extracted }> = [];
    if (!items || typeof items === 'string') {
      const reason = parseError ?? (items as string);
      events.push({ row: this.row(source, baseId, received, payload ?? { raw: body.toString('utf8').slice(0, 65536) }, { reason }, verdict.timestampMs, nowMs), x: { reason } });
    } else {
      for (const [i, item] of items.entries()) {
        const x = await this.extract(source, item);
        if (!x.reason && source.maxEventAgeSeconds !== undefined && x.sourceTs && nowMs - x.sourceTs.getTime() > source.maxEventAgeSeconds * 1000) {
          return this.refuse(source, 'stale-timestamp');
        }
        // The vendor's id when it sends one, else the body hash; one id per item of a batched delivery.
        const id = verdict.eventId ?? x.eventId ?? sha256(body);
        events.push({ row: this.row(source, source.split ? `${id.slice(0, 180)}#${i}` : id.slice(0, 200), received, item, x, verdict.timestampMs, nowMs), x });
      }
    }

    const stored = await this.store(source, events);
    const fresh = events.filter((_, i) => stored[i]);
    if (!fresh.length) {
      this.metrics.webhooks.inc({ source: source.id, outcome: 'duplicate' });
      return { status: 200, body: { status: 'duplicate', eventId: events[0]?.row.eventId } };
    }
    for (const { row } of fresh) this.metrics.webhooks.inc({ source: source.id, outcome: row.status });
    const rejected = fresh.filter(e => e.row.status === 'rejected');
    for (const { row } of rejected) this.log.warn({ sourceId: source.id, hrEventId: row.id }, `HR event stored as rejected: ${row.reason}`);
    const summary = fresh.map(e => ({ id: e.row.id, status: e.row.status, ...(e.row.reason ? { reason: e.row.reason } : {}) }));
    if (rejected.length === fresh.length) {
      return { status: source.rejectStatus, body: { status: 'rejected', id: summary[0].id, reason: summary[0].reason, events: summary } };
    }
    return { status: 202, body: { status: fresh[0].row.status, id: summary[0].id, events: summary } };
  }

  /** The per-employee items of a delivery: `[payload]`, or the source's `split` list; a string is a rejection reason. */
  private async items(source: HrSourceConfig, payload: unknown): Promise<unknown[] | string> {
    if (!source.split) return [payload];
    try {
      const v = await evaluate(source.split, payload, 'split');
      const list = v === undefined ? [] : Array.isArray(v) ? [...v] : [v];
      return list.length ? list : 'the delivery lists no employees';
    } catch (e) {
      if (e instanceof HrExpressionError) return e.message;
      throw e;
    }
  }

  private row(source: HrSourceConfig, eventId: string, received: string, payload: unknown, x: Extracted, signedMs: number | undefined, nowMs: number): HrEventEntity {
    const status: HrEventStatus = x.reason ? 'rejected' : x.action === 'ignore' ? 'ignored' : 'accepted';
    return {
      id: newId(), sourceId: source.id, eventId: textColumn(eventId), receivedAt: received,
      sourceTs: (x.sourceTs ?? (signedMs !== undefined ? new Date(signedMs) : new Date(nowMs))).toISOString(),
      action: x.action ?? null, employeeId: x.employeeId && x.employeeId.length <= MAX_EMPLOYEE_ID ? x.employeeId : null, status,
      reason: (x.reason === undefined ? undefined : textColumn(x.reason.slice(0, 1024))) ?? (status === 'ignored' ? 'action is ignore' : null),
      payload, processedAt: status === 'accepted' ? null : received,
    };
  }

  /** 401 with nothing stored: a counter and a log line without the body. */
  private refuse(source: HrSourceConfig, reason: string): IngressResult {
    this.metrics.verifyFailures.inc({ source: source.id, reason });
    if (reason === 'no-secret-configured') this.log.error(`HR source ${source.id}: none of ${source.secretEnvs.join(', ')} is set; deliveries are refused`);
    else this.log.warn({ sourceId: source.id, reason }, 'HR webhook refused');
    return { status: 401, body: { error: { status: 401, code: 'unauthorized', message: `Webhook verification failed: ${reason}` } } };
  }

  /**
   * Vendor handshakes answered before verification: HiBob's connection test ("Ping test") stores
   * nothing; Gusto's `verification_token` (its signing secret, unsigned by design) is kept as an
   * `ignored` event only while the source has no secret yet, so the operator can read it from the store.
   */
  private async handshake(source: HrSourceConfig, headers: WebhookHeaders, body: Buffer): Promise<IngressResult | undefined> {
    const text = body.toString('utf8').trim();
    if (source.kind === 'hibob' && (text === 'Ping test' || /^\{\s*"text"\s*:\s*"Ping test"\s*\}$/.test(text))) {
      this.metrics.webhooks.inc({ source: source.id, outcome: 'handshake' });
      return { status: 200, body: { status: 'pong' } };
    }
    if (source.kind !== 'gusto' || header(headers, 'x-gusto-signature')) return undefined;
    let parsed: unknown;
    try { parsed = JSON.parse(text); } catch { return undefined; }
    if (!isObject(parsed) || typeof parsed.verification_token !== 'string' || Object.keys(parsed).length !== 1) return undefined;
    this.metrics.webhooks.inc({ source: source.id, outcome: 'handshake' });
    const configured = source.secretEnvs.some(e => !!readSecret(e));
    if (!configured) {
      const now = nowIso();
      await this.db.transaction(em => em.createQueryBuilder().insert().into(HrEventEntity).values({
        id: newId(), sourceId: source.id, eventId: `verification-${sha256(body).slice(0, 40)}`, receivedAt: now, sourceTs: now, action: null,
        employeeId: null, status: 'ignored', reason: 'gusto-verification-token', payload: parsed, processedAt: now,
      }).orIgnore().execute());
      this.log.warn(`HR source ${source.id}: Gusto verification token received and stored (hr_event reason gusto-verification-token); verify the subscription and set ${source.secretEnvs[0]} to it`);
    }
    return { status: 200, body: { status: 'verification-token-received' } };
  }

  private async extract(source: HrSourceConfig, payload: unknown): Promise<Extracted> {
    try {
      const employeeRaw = await evaluate(source.employeeId, payload, 'employeeId');
      const actionRaw = await evaluate(source.action, payload, 'action');
      const eventIdRaw = source.eventId ? await evaluate(source.eventId, payload, 'eventId') : undefined;
      const tsRaw = source.sourceTimestamp ? await evaluate(source.sourceTimestamp, payload, 'sourceTimestamp') : undefined;
      const effRaw = source.effectiveAt ? await evaluate(source.effectiveAt, payload, 'effectiveAt') : undefined;
      const out: Extracted = {
        eventId: scalar(eventIdRaw),
        employeeId: scalar(employeeRaw),
        sourceTs: effectiveInstant(tsRaw, 'UTC', 'start-of-day'),
      };
      const action = scalar(actionRaw);
      if (!action) return { ...out, reason: 'unknown event type: the action expression matched nothing' };
      if (!(HR_ACTIONS as readonly string[]).includes(action)) return { ...out, reason: `unknown action "${action.slice(0, 40)}"` };
      out.action = action as HrAction;
      if (out.action !== 'ignore' && !out.employeeId) return { ...out, reason: 'missing employee id' };
      // Cutting it would merge distinct employees (hr_event.employee_id is varchar(200)).
      if (out.employeeId?.includes('\u0000')) return { ...out, employeeId: undefined, reason: 'employee id contains U+0000' };
      if (out.employeeId && out.employeeId.length > MAX_EMPLOYEE_ID) return { ...out, employeeId: undefined, reason: `employee id is longer than ${MAX_EMPLOYEE_ID} characters` };
      if (effRaw !== undefined && effRaw !== null && effRaw !== '') {
        out.effectiveAt = effectiveInstant(effRaw, source.timezone, out.action === 'terminate' ? source.terminationAt : 'start-of-day');
        if (!out.effectiveAt) return { ...out, reason: 'effectiveAt is not a date' };
      }
      return out;
    } catch (e) {
      if (e instanceof HrExpressionError) return { reason: e.message };
      throw e;
    }
  }

  /**
   * One transaction: the raw events, their scheduled changes and their outbox rows. Per event, false
   * when its (source, event id) is already stored (a redelivery: nothing else happens).
   */
  private async store(source: HrSourceConfig, events: Array<{ row: HrEventEntity; x: Extracted }>): Promise<boolean[]> {
    try {
      return await this.db.transaction(async em => {
        const out: boolean[] = [];
        for (const { row, x } of events) {
          if (await em.findOneBy(HrEventEntity, { sourceId: row.sourceId, eventId: row.eventId })) { out.push(false); continue; }
          await em.insert(HrEventEntity, row as QueryDeepPartialEntity<HrEventEntity>);
          out.push(true);
          if (row.status !== 'accepted') continue;
          await this.schedule(em, source, row, x);
          // Outbox row of kind `hr-event`: the relay routes it to the `hr-events` queue (not to fan-out).
          await em.createQueryBuilder().insert().into('change_event').values({
            resourceType: HR_EVENT_RESOURCE_TYPE, resourceId: row.id, version: 0, kind: HR_EVENT_KIND, origin: `hr:${source.id}`,
            correlationId: newCorrelationId(), touched: null, createdAt: row.receivedAt, publishedAt: null,
          }).execute();
        }
        return out;
      });
    } catch (e) {
      // A concurrent delivery of the same event committed first (PostgreSQL): this one is the duplicate.
      if (isUniqueViolation(e)) return events.map(() => false);
      throw withoutParameters(e);
    }
  }

  /**
   * Effective-dated rows (DESIGN.md, scheduled_change): a hire provisions `preHireDays` before its start
   * (plus an `activate` at the start when it stays inactive until then); a termination at its date.
   * A pending row of the same action is corrected in place (it fires once, at the new time); a hire
   * supersedes a pending termination and vice versa; `cancel` cancels pending terminations.
   */
  private async schedule(em: EntityManager, source: HrSourceConfig, ev: HrEventEntity, x: Extracted): Promise<void> {
    const employeeId = ev.employeeId!;
    const pending = await em.findBy(ScheduledChangeEntity, { sourceId: source.id, employeeId, status: 'pending' });
    const now = ev.receivedAt;
    const mark = async (rows: ScheduledChangeEntity[], status: 'cancelled' | 'superseded') => {
      if (rows.length) await em.update(ScheduledChangeEntity, { id: In(rows.map(r => r.id)) }, { status, updatedAt: now });
    };
    const upsert = async (action: ScheduledAction, at: Date) => {
      const existing = pending.find(p => p.action === action);
      if (existing) await em.update(ScheduledChangeEntity, { id: existing.id }, { effectiveAt: at.toISOString(), hrEventId: ev.id, updatedAt: now });
      else {
        await em.insert(ScheduledChangeEntity, {
          id: newId(), sourceId: source.id, employeeId, action, effectiveAt: at.toISOString(), status: 'pending', resourceId: null, hrEventId: ev.id,
          createdAt: now, updatedAt: now, appliedAt: null,
        });
      }
    };
    switch (ev.action) {
      case 'hire': {
        await mark(pending.filter(p => p.action === 'terminate'), 'superseded');
        const start = x.effectiveAt ?? new Date(now);
        const provisionAt = new Date(start.getTime() - source.preHireDays * 86_400_000);
        await upsert('hire', provisionAt);
        if (source.inactiveUntilStart && start.getTime() > Math.max(provisionAt.getTime(), Date.parse(now))) await upsert('activate', start);
        else await mark(pending.filter(p => p.action === 'activate'), 'superseded');
        return;
      }
      case 'terminate':
        await mark(pending.filter(p => p.action === 'hire' || p.action === 'activate'), 'superseded');
        await upsert('terminate', x.effectiveAt ?? new Date(now));
        return;
      case 'cancel':
        await mark(pending.filter(p => p.action === 'terminate'), 'cancelled');
        return;
      default:
        return;
    }
  }
}

/** Parses a verified body: JSON, or form fields (Rippling posts form-encoded). */
export function parseBody(headers: WebhookHeaders, body: Buffer): { payload?: unknown; parseError?: string } {
  const type = String(header(headers, 'content-type') ?? '').toLowerCase();
  const text = body.toString('utf8');
  if (type.includes('application/x-www-form-urlencoded')) {
    return { payload: Object.fromEntries(new URLSearchParams(text)) };
  }
  if (!text.trim()) return { parseError: 'empty body' };
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return { parseError: 'unparsable JSON' };
  }
  // `null` or a bare scalar is no event (and `null` cannot be stored as the payload).
  if (typeof payload !== 'object' || payload === null) return { parseError: 'the body is not a JSON object or array' };
  // JSON.stringify and JSONata recurse: a deep body would overflow the stack (a 500) before it is stored.
  if (deeperThan(payload, MAX_HR_JSON_DEPTH)) return { parseError: `the body is nested deeper than ${MAX_HR_JSON_DEPTH} levels` };
  return { payload };
}

/** Deepest nesting of an HR payload: vendor payloads nest under 10 levels; the rest is abuse or a bug. */
export const MAX_HR_JSON_DEPTH = 64;

/** True when `value` nests objects/arrays deeper than `max` levels (iterative: safe at any depth). */
export function deeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** A failed insert without the bound parameters TypeORM attaches (they hold the raw payload): safe to log. */
export function withoutParameters(e: unknown): unknown {
  if (!(e instanceof QueryFailedError)) return e;
  const driver = (e as { driverError?: { code?: string } }).driverError;
  const out = new Error(`storing the HR event failed: ${e.message}${driver?.code ? ` (${driver.code})` : ''}`);
  out.name = 'QueryFailedError';
  return out;
}

/** PostgreSQL text cannot hold U+0000: echoed payload text (event ids, reasons) shows it as U+FFFD. */
function textColumn(s: string): string {
  return s.replace(/\u0000/g, '\uFFFD');
}

function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function verdictTime(ms: number | undefined): Date | undefined {
  return ms === undefined ? undefined : new Date(ms);
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isUniqueViolation(e: unknown): boolean {
  return /UNIQUE constraint failed|duplicate key value/i.test((e as Error)?.message ?? '');
}
