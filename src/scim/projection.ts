import type { SchemaRegistry } from './schema/schema-registry.js';
import type { AttributeDefinition, Returned } from './schema/schema.types.js';
import { ScimError } from './scim.error.js';

/**
 * Which attributes a response carries (RFC 7644 §3.4.2.5, §3.9), from the `attributes` and
 * `excludedAttributes` a client asked for and each attribute's `returned` characteristic (RFC 7643 §7).
 * Names are lower-cased schema paths: `username`, `name.givenname`, `urn:…:enterprise:2.0:user:department`,
 * or a bare extension URN. Build with `compileProjection`, apply with `project`.
 */
export interface Projection {
  readonly resourceType: string;
  /** `attributes`: only these (plus `returned: always`); undefined when the client named none. */
  readonly include?: ReadonlySet<string>;
  /** `excludedAttributes`: everything returned by default but these (`always` wins). */
  readonly exclude: ReadonlySet<string>;
}

/** The request parameters as they arrive: a comma-separated string (query) or a list of strings (SearchRequest body). */
export interface ProjectionParams { attributes?: unknown; excludedAttributes?: unknown }

/** Parses and resolves the parameters; names no schema defines are kept by their lower-cased text. 400 invalidValue on a non-string. */
export function compileProjection(registry: SchemaRegistry, resourceType: string, params: ProjectionParams = {}): Projection {
  const include = names(params.attributes, 'attributes');
  const exclude = names(params.excludedAttributes, 'excludedAttributes') ?? [];
  // Some clients name an attribute with a value filter (`emails[type eq "work"]`, Microsoft's test
  // collection does); RFC 7644 §3.4.2.5 takes attribute names only, so the filter part is dropped.
  const key = (raw: string) => {
    const n = raw.replace(/\[[^\]]*\]/g, '');
    return registry.tryResolve(resourceType, n)?.canonicalPath.toLowerCase() ?? n.toLowerCase();
  };
  return {
    resourceType,
    ...(include?.length ? { include: new Set(include.map(key)) } : {}),
    exclude: new Set(exclude.map(key)),
  };
}

/**
 * True when `project` would keep the top-level attribute `name` (`members`, `groups`), so the caller
 * can skip loading what would be dropped: Entra sends `excludedAttributes=members` on every Group GET.
 */
export function projectionWants(registry: SchemaRegistry, projection: Projection, name: string): boolean {
  const resolved = registry.tryResolve(projection.resourceType, name);
  const path = resolved?.canonicalPath.toLowerCase() ?? name.toLowerCase();
  return keepAttribute(projection, path, resolved?.attribute.returned ?? 'default', extensionOf(path)) !== 'drop';
}

/**
 * A copy of a SCIM representation (`toScim` output) with only the attributes the projection keeps.
 * `schemas` always stays (RFC 7643 §3); `returned: never` always goes; `request` only when named.
 */
export function project(registry: SchemaRegistry, projection: Projection, resource: Record<string, unknown>): Record<string, unknown> {
  const [core, ...extensions] = registry.schemasFor(projection.resourceType);
  const coreDefs = [...registry.commonAttributes(), ...core!.attributes];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(resource)) {
    if (k === 'schemas') { out[k] = v; continue; }
    const ext = extensions.find(e => e.id.toLowerCase() === k.toLowerCase());
    if (ext) {
      const kept = isObject(v) ? projectObject(projection, v, ext.attributes, `${ext.id.toLowerCase()}:`, ext.id.toLowerCase()) : undefined;
      if (kept && Object.keys(kept).length) out[k] = kept;
      continue;
    }
    const kept = projectAttribute(projection, k.toLowerCase(), defNamed(coreDefs, k), v, undefined);
    if (kept !== undefined) out[k] = kept;
  }
  return out;
}

function projectObject(p: Projection, obj: Record<string, unknown>, defs: readonly AttributeDefinition[], prefix: string, extension: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const kept = projectAttribute(p, `${prefix}${k.toLowerCase()}`, defNamed(defs, k), v, extension);
    if (kept !== undefined) out[k] = kept;
  }
  return out;
}

/** One attribute: dropped (undefined), kept whole, or kept with some sub-attributes. */
function projectAttribute(p: Projection, path: string, def: AttributeDefinition | undefined, value: unknown, extension: string | undefined): unknown {
  const decision = keepAttribute(p, path, def?.returned ?? 'default', extension);
  if (decision === 'drop') return undefined;
  const subs = def?.subAttributes;
  // `some` means only sub-attributes were named; an attribute without any has nothing to keep.
  if (!subs) return decision === 'some' ? undefined : value;
  const pick = (el: unknown) => {
    if (!isObject(el)) return el;
    const kept: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(el)) {
      const sub = defNamed(subs, k);
      if (keepSub(p, `${path}.${k.toLowerCase()}`, sub?.returned ?? 'default', decision)) kept[k] = v;
    }
    return kept;
  };
  if (Array.isArray(value)) {
    const list = value.map(pick).filter(el => !isObject(el) || Object.keys(el).length > 0);
    return list.length || !value.length ? list : undefined;
  }
  const one = pick(value);
  return isObject(one) && !Object.keys(one).length && isObject(value) && Object.keys(value).length ? undefined : one;
}

/** `whole`: the attribute was named (or is returned by default); `some`: only named sub-attributes. */
type Decision = 'drop' | 'whole' | 'some';

function keepAttribute(p: Projection, path: string, returned: Returned, extension: string | undefined): Decision {
  if (returned === 'never') return 'drop';
  if (returned === 'always') return 'whole';
  if (p.exclude.has(path) || (extension && p.exclude.has(extension))) return 'drop';
  if (p.include) {
    if (p.include.has(path) || (extension && p.include.has(extension) && returned !== 'request')) return 'whole';
    return [...p.include].some(n => n.startsWith(`${path}.`)) ? 'some' : 'drop';
  }
  return returned === 'request' ? 'drop' : 'whole';
}

function keepSub(p: Projection, path: string, returned: Returned, parentDecision: Decision): boolean {
  if (returned === 'never') return false;
  if (returned === 'always') return true;
  if (p.exclude.has(path)) return false;
  if (p.include?.has(path)) return true;
  if (parentDecision === 'some') return false;
  // The parent was named or is returned by default: its sub-attributes follow unless only-on-request.
  return returned !== 'request';
}

function extensionOf(path: string): string | undefined {
  const i = path.lastIndexOf(':');
  return path.startsWith('urn:') && i > 0 ? path.slice(0, i) : undefined;
}

function names(v: unknown, what: string): string[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const list = Array.isArray(v) ? v : [v];
  if (!list.every(x => typeof x === 'string')) throw ScimError.invalidValue(`${what} must be a comma-separated list of attribute names`);
  return (list as string[]).flatMap(s => s.split(',')).map(s => s.trim()).filter(Boolean);
}

function defNamed(defs: readonly AttributeDefinition[], name: string): AttributeDefinition | undefined {
  const lower = name.toLowerCase();
  return defs.find(d => d.name.toLowerCase() === lower);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}
