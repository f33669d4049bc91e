import { createHash } from 'node:crypto';
import type { TargetConfig } from '../config/app-config.js';
import type { StoredResource } from '../identity/resource.types.js';
import { rulesFor, targetRulesHash } from '../mapping/target-rules.js';
import type { Filter } from '../scim/filter/filter.ast.js';
import { parseFilter } from '../scim/filter/filter.parser.js';
import { USER_SCHEMA } from '../scim/scim.constants.js';

/** A user's direct groups as the User `groups` attribute carries them (RFC 7643 §4.1.2). */
export type UserGroups = Array<{ value: string; display?: string }>;

/** Who a target wants, as the pipeline asks it: the compiled rules (src/mapping/target-rules.ts) on stored resources. */
export interface TargetScope {
  /** Users: inside the target's `scope` (read with `groups` when `referencesGroups`). Groups: always (see groupSelected). */
  inScope(resource: StoredResource, groups?: UserGroups): boolean;
  /** Groups only: selected by `groups: all | none | { filter }`. */
  groupSelected(group: StoredResource): boolean;
  /** The scope reads `groups.*`: membership changes re-evaluate the members they touch. */
  referencesGroups: boolean;
  /** The scope reads `groups.display`: a group rename re-evaluates every member. */
  referencesGroupDisplay: boolean;
}

const cache = new WeakMap<TargetConfig, TargetScope>();

/** The scope view of a target's rules (cached per config object). */
export function targetScope(target: TargetConfig): TargetScope {
  let s = cache.get(target);
  if (!s) {
    const rules = rulesFor(target);
    s = {
      inScope: (r, g) => r.resourceType === 'Group' || rules.inScope({ resourceType: 'User', doc: r.doc }, g),
      groupSelected: r => rules.groupSelected(r.doc),
      referencesGroups: rules.referencesGroups,
      referencesGroupDisplay: rules.referencesGroups && !!target.scope && readsGroupDisplay(parseFilter(target.scope, { maxLength: 8192 })),
    };
    cache.set(target, s);
  }
  return s;
}

/** Whether a filter reads `groups.display` (`groups.display eq …` or `groups[display eq …]`). */
function readsGroupDisplay(f: Filter, inGroups = false): boolean {
  switch (f.kind) {
    case 'and': case 'or': return readsGroupDisplay(f.left, inGroups) || readsGroupDisplay(f.right, inGroups);
    case 'not': return readsGroupDisplay(f.filter, inGroups);
    case 'valuePath': return isGroups(f.path) && readsGroupDisplay(f.filter, true);
    default:
      if (inGroups) return f.path.attr.toLowerCase() === 'display';
      return isGroups(f.path) && f.path.sub?.toLowerCase() === 'display';
  }
}

function isGroups(p: { uri?: string; attr: string }): boolean {
  return p.attr.toLowerCase() === 'groups' && (p.uri === undefined || p.uri.toLowerCase() === USER_SCHEMA.toLowerCase());
}

/**
 * The hash stored in `target_state`: the mapping rules' hash plus what decides deprovisioning, so a
 * changed `deprovision` or `skipOutOfScopeDeletions` also re-evaluates every linked resource.
 */
export function targetStateHash(target: TargetConfig): string {
  const extra = JSON.stringify({ deprovision: target.deprovision, skipOutOfScopeDeletions: target.skipOutOfScopeDeletions ?? false });
  return createHash('sha256').update(targetRulesHash(target)).update(extra).digest('hex');
}
