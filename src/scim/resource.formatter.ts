import { StoredResource } from '../identity/resource.types.js';

/** `W/"<version>"` (RFC 7644 §3.14). */
export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/** The version in an `If-Match` / `If-None-Match` header, or undefined for absent / `*`. Unparsable → NaN (never matches). */
export function versionFromEtag(header: string | undefined): number | undefined {
  if (!header || header.trim() === '*') return undefined;
  const m = /^\s*(?:W\/)?"(\d+)"\s*$/.exec(header);
  return m ? Number(m[1]) : Number.NaN;
}

/** True when an `If-None-Match` header is `*` or lists the ETag of `version` (RFC 9110 §13.1.2, weak comparison). */
export function etagListHas(header: string | string[] | undefined, version: number): boolean {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) return false;
  if (text.trim() === '*') return true;
  return text.split(',').some(tag => versionFromEtag(tag) === version);
}

/**
 * The SCIM representation of a stored resource: `schemas`, `id`, `externalId`, attributes, then `meta`
 * (RFC 7643 §3.1). writeOnly `password` never leaves. `location` is absolute under `baseUrl`.
 */
export function toScim(
  r: StoredResource, baseUrl: string, extra: { groups?: Array<{ value: string; display: string }> } = {},
): Record<string, unknown> {
  const endpoint = r.resourceType === 'User' ? 'Users' : 'Groups';
  const { password: _pw, schemas, ...attrs } = r.doc as Record<string, unknown>;
  const out: Record<string, unknown> = { schemas, id: r.id };
  if (r.externalId !== null) out.externalId = r.externalId;
  for (const [k, v] of Object.entries(attrs)) if (k !== 'externalId' && v !== undefined) out[k] = v;
  if (r.resourceType === 'Group' && r.members) {
    out.members = r.members.map(m => ({ value: m.value, type: m.type, $ref: `${baseUrl}/${m.type === 'Group' ? 'Groups' : 'Users'}/${m.value}` }));
  }
  if (r.resourceType === 'User' && extra.groups) {
    out.groups = extra.groups.map(g => ({ value: g.value, display: g.display, type: 'direct', $ref: `${baseUrl}/Groups/${g.value}` }));
  }
  out.meta = { resourceType: r.resourceType, created: r.created, lastModified: r.lastModified, location: `${baseUrl}/${endpoint}/${r.id}`, version: etagOf(r.version) };
  return out;
}
