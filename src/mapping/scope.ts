import type { Json } from '../common/json.util.js';
import type { GroupSelection } from '../config/mapping-config.dto.js';
import type { Filter } from '../scim/filter/filter.ast.js';
import { compileFilter } from '../scim/filter/filter.evaluator.js';
import { parseFilter } from '../scim/filter/filter.parser.js';
import type { SchemaRegistry } from '../scim/schema/schema-registry.js';
import { USER_SCHEMA } from '../scim/scim.constants.js';
import { MappingError, MappingErrorCode } from './mapping.error.js';

/** A group the user belongs to, as the scope filter sees it (`groups.value` = canonical group id). */
export interface GroupRef { value: string; display?: string }

/** A compiled user scope. */
export interface UserScope {
  /** True when the canonical user is in scope; `groups` replaces the document's `groups` (group-based assignment). */
  inScope(doc: Json, groups?: readonly GroupRef[]): boolean;
  /** The filter reads `groups.*`: a membership change must re-evaluate the members it touches. */
  readonly referencesGroups: boolean;
}

/**
 * Compiles a target's `scope` (RFC 7644 §3.4.2.2 filter on the canonical User) with the SCIM provider's
 * own parser and in-memory evaluator, so multi-valued attributes (`emails[type eq "work" and value ew
 * "@acme.com"]`), dateTimes (instants, any offset) and caseExact behave exactly as in `GET /Users?filter=`.
 * Absent → every user is in scope.
 * @throws MappingError InvalidFilter (syntax, unknown attribute, unsupported comparison).
 */
export function compileUserScope(scope: string | undefined, registry: SchemaRegistry): UserScope {
  if (scope === undefined) return { inScope: () => true, referencesGroups: false };
  const filter = parse(scope);
  let predicate: (r: Json) => boolean;
  try {
    predicate = compileFilter(filter, registry, 'User');
  } catch (e) {
    throw new MappingError(MappingErrorCode.InvalidFilter, scope, (e as Error).message);
  }
  return {
    inScope: (doc, groups) => predicate(groups ? { ...doc, groups: groups.map(g => ({ ...g })) } : doc),
    referencesGroups: readsGroups(filter),
  };
}

/**
 * Compiles `groups: all | none | { filter }` into a predicate on the canonical Group (`displayName sw "eng-"`).
 * @throws MappingError InvalidFilter
 */
export function compileGroupSelection(selection: GroupSelection, registry: SchemaRegistry): (doc: Json) => boolean {
  if (selection === 'all') return () => true;
  if (selection === 'none') return () => false;
  const filter = parse(selection.filter);
  try {
    return compileFilter(filter, registry, 'Group');
  } catch (e) {
    throw new MappingError(MappingErrorCode.InvalidFilter, selection.filter, (e as Error).message);
  }
}

function parse(text: string): Filter {
  try {
    return parseFilter(text, { maxLength: 8192 });
  } catch (e) {
    throw new MappingError(MappingErrorCode.InvalidFilter, text, (e as Error).message);
  }
}

/** Whether a filter reads the User's `groups` attribute (bare or with the core URN). */
function readsGroups(filter: Filter): boolean {
  switch (filter.kind) {
    case 'and':
    case 'or':
      return readsGroups(filter.left) || readsGroups(filter.right);
    case 'not':
      return readsGroups(filter.filter);
    default: {
      const { uri, attr } = filter.path;
      return attr.toLowerCase() === 'groups' && (uri === undefined || uri.toLowerCase() === USER_SCHEMA.toLowerCase());
    }
  }
}
