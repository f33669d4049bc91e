import { getCI, isObject, Json } from '../../common/json.util.js';
import { compileFilter } from '../../scim/filter/filter.evaluator.js';
import { parseFilter } from '../../scim/filter/filter.parser.js';
import { SchemaRegistry } from '../../scim/schema/schema-registry.js';
import { ResourceTypeName } from '../../scim/scim.constants.js';
import { PushTrace } from '../push-trace.js';
import { ScimObject } from '../scim-client.js';
import type { MatchPath } from './matching.js';
import { TracedClient } from './traced-client.js';

/** Accounts per listing request of a matching scan (RFC 7644 §3.4.2.4 `count`). */
export const MATCH_SCAN_PAGE_SIZE = 100;

type Literal = string | number | boolean;

// Core User + Enterprise + Group: the attributes matching paths name; caseExact comes from here.
const registry = new SchemaRegistry();

function literal(v: Literal): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** The filter a matching path and value mean, as the SCIM evaluator reads it (`emails[primary eq true and value eq "…"]`). */
export function localMatchFilter(path: MatchPath, value: Literal): string {
  const prefix = path.urn ? `${path.urn}:` : '';
  if (path.filter && path.sub !== undefined) return `${prefix}${path.attr}[${path.filter.attr} eq ${literal(path.filter.value)} and ${path.sub} eq ${literal(value)}]`;
  return `${prefix}${path.attr}${path.sub !== undefined ? `.${path.sub}` : ''} eq ${literal(value)}`;
}

/**
 * A predicate "this remote account holds `value` at `path`", evaluated with the SCIM provider's own
 * filter evaluator (RFC 7644 §3.4.2.2: caseExact false → case-insensitive, valuePaths, extension URNs).
 * A path the core schemas do not know (a custom extension) falls back to a case-insensitive compare.
 */
export function remoteMatcher(path: MatchPath, value: Literal, type: ResourceTypeName, read: (obj: Json) => unknown): (remote: ScimObject) => boolean {
  try {
    const predicate = compileFilter(parseFilter(localMatchFilter(path, value)), registry, type);
    return remote => predicate(remote);
  } catch {
    const want = typeof value === 'string' ? value.toLowerCase() : value;
    return remote => {
      const got = read(remote);
      return (typeof got === 'string' ? got.toLowerCase() : got) === want;
    };
  }
}

/** Thrown when the listing is bigger than the profile's `matchScanLimit`. */
export class ScanLimitExceeded extends Error {
  constructor(readonly limit: number, readonly total: number | undefined) {
    super(`the target lists ${total === undefined ? 'more than' : total} accounts, above matchScanLimit ${limit}`);
  }
}

/**
 * Reads the whole listing of `type` at the target, page by page (`startIndex`/`count`, RFC 7644
 * §3.4.2.4), following `totalResults`; stops on an empty or short page when the app does not say.
 * Accounts are de-duplicated by id (an app whose pages shift while we read).
 * @throws ScanLimitExceeded when more than `limit` accounts would have to be read — never a partial answer.
 */
export async function scanRemote(client: TracedClient, type: ResourceTypeName, limit: number, trace: PushTrace): Promise<ScimObject[]> {
  const byId = new Map<string, ScimObject>();
  let startIndex = 1;
  let read = 0;
  let pages = 0;
  for (;;) {
    const { body } = await client.listPage(type, startIndex, MATCH_SCAN_PAGE_SIZE);
    pages++;
    if (body.totalResults !== undefined && body.totalResults > limit) throw new ScanLimitExceeded(limit, body.totalResults);
    for (const r of body.resources) {
      const id = isObject(r) ? getCI(r, 'id') : undefined;
      byId.set(typeof id === 'string' ? id : `#${read}`, r);
      read++;
    }
    if (read > limit) throw new ScanLimitExceeded(limit, body.totalResults);
    const n = body.resources.length;
    startIndex += n;
    const done = n === 0 || (body.totalResults !== undefined ? startIndex > body.totalResults : n < MATCH_SCAN_PAGE_SIZE);
    if (done) break;
  }
  trace.add({ kind: 'note', message: `matching scan: read ${byId.size} ${type} account(s) in ${pages} page(s) (no filter)` });
  return [...byId.values()];
}
