import type { Json } from '../common/json.util.js';
import type { ResourceTypeName } from '../scim/scim.constants.js';

/** What the store knows about a resource besides its document (a StoredResource fits). */
export interface CanonicalSource {
  /** Absent only in previews of resources that are not stored yet. */
  id?: string;
  resourceType: ResourceTypeName;
  /** The stored SCIM JSON, without `id` and `meta` (the store keeps those in columns). */
  doc: Json;
  /** ISO 8601 instants of the store's columns; they become `meta.created` / `meta.lastModified`. */
  created?: string;
  lastModified?: string;
}

/**
 * The canonical resource as SCIM shows it (RFC 7643 §3.1): the stored document plus `id` and `meta`
 * (`resourceType`, `created`, `lastModified`). This is what `scope` filters and mapping expressions
 * see, so `meta.created gt "2024-01-01T00:00:00Z"` works. `password` (stored hashed) is left out.
 */
export function canonicalDocument(resource: CanonicalSource): Json {
  const { password: _hidden, ...doc } = resource.doc;
  const meta: Json = { resourceType: resource.resourceType };
  if (resource.created) meta.created = resource.created;
  if (resource.lastModified) meta.lastModified = resource.lastModified;
  return resource.id === undefined ? { ...doc, meta } : { ...doc, id: resource.id, meta };
}

/** True for a `{ resourceType, doc }` wrapper, false for a bare SCIM document. */
export function isCanonicalSource(value: unknown): value is CanonicalSource {
  const v = value as Partial<CanonicalSource> | null;
  return typeof v === 'object' && v !== null && typeof v.resourceType === 'string' && typeof v.doc === 'object' && v.doc !== null;
}
