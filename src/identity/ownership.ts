import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { APP_CONFIG, AppConfig } from '../config/app-config.js';
import { OwnershipConfig, ownershipKey } from '../config/hr-config.dto.js';
import { MetricsService } from '../ops/metrics.service.js';
import { canonicalJson } from './canonical-json.util.js';

/** The source id of a write origin: `scim:<clientId>` → clientId, `hr:<sourceId>` → sourceId; admin writes are not sources. */
export function sourceOfOrigin(origin: string): string | undefined {
  const m = /^(scim|hr):(.+)$/.exec(origin);
  return m ? m[2] : undefined;
}

/**
 * Source precedence per attribute (issue 5, `ownership:` in switchboard.yaml): each attribute has one
 * owning source (listed, else `default`). A write by another source is accepted but leaves that
 * attribute as it was — including a PUT that omits it — and is counted. `active` puts security
 * first: any source may deactivate; only the owner of `active` may reactivate. Without an
 * `ownership` block every write passes unchanged.
 */
@Injectable()
export class OwnershipPolicy {
  private readonly log = new Logger(OwnershipPolicy.name);
  private readonly rules: OwnershipConfig;
  private readonly ignored: Counter<'source' | 'attribute'>;

  constructor(@Inject(APP_CONFIG) config: AppConfig, metrics: MetricsService) {
    this.rules = config.hr?.ownership ?? { owners: new Map() };
    this.ignored = (metrics.registry.getSingleMetric('switchboard_source_precedence_ignored_total') as Counter<'source' | 'attribute'> | undefined)
      ?? new Counter({
        name: 'switchboard_source_precedence_ignored_total', help: 'Attribute writes ignored because the writing source does not own the attribute',
        labelNames: ['source', 'attribute'], registers: [metrics.registry],
      });
  }

  get enabled(): boolean {
    return this.rules.default !== undefined;
  }

  /** Owner of an attribute path (`title`, `name.givenName`, `urn:…:User:department`), falling back to its parent, then `default`. */
  ownerOf(path: string): string | undefined {
    const key = ownershipKey(path);
    const parent = key.startsWith('urn:') ? undefined : key.split('.')[0];
    return this.rules.owners.get(key) ?? (parent ? this.rules.owners.get(parent) : undefined) ?? this.rules.default;
  }

  /** The User document to store when `origin` writes `after` over `before` (RFC 7643 User; schemas pass through). */
  apply(origin: string, before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
    const writer = sourceOfOrigin(origin);
    if (!this.enabled || !writer) return after;
    const out: Record<string, unknown> = structuredClone(after);
    const dropped: string[] = [];
    const keep = (path: string, get: (d: Record<string, unknown>) => unknown, set: (d: Record<string, unknown>, v: unknown) => void) => {
      const b = get(before);
      if (canonicalJson(b ?? null) === canonicalJson(get(out) ?? null)) return;
      set(out, b);
      dropped.push(path);
    };
    const keys = new Set([...Object.keys(before), ...Object.keys(after)].filter(k => k !== 'schemas' && k !== 'id' && k !== 'meta'));
    for (const key of keys) {
      const b = before[key];
      const a = after[key];
      if (key === 'active') {
        const owner = this.ownerOf('active');
        const deactivating = a === false && b !== false;
        if (writer !== owner && !deactivating) keep('active', d => d.active, (d, v) => assign(d, 'active', v));
        continue;
      }
      const nested = key.toLowerCase().startsWith('urn:') || isPlainObject(b) || isPlainObject(a);
      if (!nested) {
        if (writer !== this.ownerOf(key)) keep(key, d => d[key], (d, v) => assign(d, key, v));
        continue;
      }
      const sep = key.toLowerCase().startsWith('urn:') ? ':' : '.';
      const subs = new Set([...Object.keys(asObject(b)), ...Object.keys(asObject(a))]);
      for (const sub of subs) {
        const path = `${key}${sep}${sub}`;
        if (writer === this.ownerOf(path)) continue;
        keep(path, d => asObject(d[key])[sub], (d, v) => {
          const o = { ...asObject(d[key]) };
          assign(o, sub, v);
          if (Object.keys(o).length) d[key] = o;
          else delete d[key];
        });
      }
    }
    if (dropped.length) {
      for (const attribute of dropped) this.ignored.inc({ source: writer, attribute });
      this.log.debug({ source: writer, attributes: dropped }, 'Source precedence: write kept the owner\'s values');
    }
    return out;
  }
}

function assign(d: Record<string, unknown>, k: string, v: unknown): void {
  if (v === undefined) delete d[k];
  else d[k] = v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asObject(v: unknown): Record<string, unknown> {
  return isPlainObject(v) ? v : {};
}
