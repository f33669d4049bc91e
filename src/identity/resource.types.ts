import { ResourceTypeName } from '../scim/scim.constants.js';

/** Who is writing, for the outbox row and the audit trail. */
export interface WriteContext {
  /** `scim:<clientId>`, `hr:<sourceId>` or `admin:<who>`. */
  origin: string;
  correlationId: string;
}

/** A canonical resource as the store returns it (live or tombstoned). */
export interface StoredResource {
  id: string;
  resourceType: ResourceTypeName;
  externalId: string | null;
  version: number;
  active: boolean;
  created: string;
  lastModified: string;
  deletedAt: string | null;
  /** SCIM JSON without id/meta; Group `members` are not in it (see `members`). */
  doc: Record<string, unknown>;
  /** Group members (canonical ids) when loaded. */
  members?: Array<{ value: string; type: string }>;
}

/** A membership change computed by a PATCH on `members` (applied in O(1) per member). */
export interface MemberDelta { add: Array<{ value: string; type: string }>; remove: string[]; replaceAll?: boolean }
