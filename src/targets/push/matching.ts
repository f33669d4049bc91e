import { getCI, isObject, Json } from '../../common/json.util.js';
import { DEFAULT_MATCHING, MatchFilterStyle } from '../../config/profile-config.dto.js';
import type { TargetConfig } from '../../config/app-config.js';
import { ResourceTypeName } from '../../scim/scim.constants.js';
import { PushTrace, TraceMatchAttempt } from '../push-trace.js';
import { ScimObject } from '../scim-client.js';
import { TargetError, TargetErrorKind } from '../target.error.js';
import { remoteMatcher, scanRemote, ScanLimitExceeded } from './match-scan.js';
import { TracedClient } from './traced-client.js';

type Literal = string | number | boolean;

/** A matching attribute, parsed: `[urn:…:]attr[[filterAttr eq literal]][.sub]`. */
export interface MatchPath {
  raw: string;
  urn?: string;
  attr: string;
  filter?: { attr: string; value: Literal };
  sub?: string;
}

/**
 * Permanent: several remote accounts fit one matching attribute (or the target refused the filter).
 * Its `summary` (what the dead-letter queue keeps) names the attribute and the count, never the value.
 */
export class MatchError extends TargetError {
  constructor(summary: string, status?: number) {
    super(TargetErrorKind.Permanent, { status, detail: summary });
    (this as { summary: string }).summary = `target permanent: ${summary}`;
  }
}

/** Parses a matching path (validated at start by normaliseMatching); throws on anything else. */
export function parseMatchPath(raw: string): MatchPath {
  const m = /^(?:(urn:[A-Za-z0-9:._-]+):)?([A-Za-z$][\w$-]*)(?:\[\s*([A-Za-z$][\w$-]*)\s+eq\s+(.+?)\s*\])?(?:\.([A-Za-z$][\w$-]*))?$/i.exec(raw.trim());
  if (!m) throw new Error(`not a matching attribute path: ${raw}`);
  const [, urn, attr, fAttr, fLit, sub] = m;
  const path: MatchPath = { raw, attr, sub };
  if (urn) path.urn = urn;
  if (fAttr) {
    const value: unknown = JSON.parse(fLit);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw new Error(`bad literal in ${raw}`);
    path.filter = { attr: fAttr, value };
  }
  return path;
}

function sameValue(a: unknown, b: unknown): boolean {
  // Matching compares case-insensitively: userName, displayName and emails are caseExact=false (RFC 7643 §4.1).
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  return a === b;
}

function elementMatches(el: unknown, filter: NonNullable<MatchPath['filter']>): boolean {
  return isObject(el) && sameValue(getCI(el, filter.attr), filter.value);
}

/** The value `path` names in a SCIM object (the mapped payload, or a remote account): the first match. */
export function readMatchValue(obj: Json, path: MatchPath): Literal | undefined {
  const container = path.urn ? getCI(obj, path.urn) : obj;
  if (!isObject(container)) return undefined;
  let value: unknown = getCI(container, path.attr);
  if (path.filter) {
    if (!Array.isArray(value)) return undefined;
    value = value.find(el => elementMatches(el, path.filter!));
  }
  if (path.sub !== undefined) {
    if (Array.isArray(value)) value = value.map(el => (isObject(el) ? getCI(el, path.sub!) : undefined)).find(v => v !== undefined && v !== null);
    else value = isObject(value) ? getCI(value, path.sub) : undefined;
  }
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : undefined;
}

function literal(v: Literal): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/**
 * The SCIM filter (RFC 7644 §3.4.2.2) that looks `value` up at the target. A valuePath attribute
 * (`emails[primary eq true].value`) is sent as its attribute path (`emails.value eq "…"`, style
 * `attributePath`, which nearly every app supports; the answer is then checked for the value filter here)
 * or as a valuePath filter (`emails[primary eq true and value eq "…"]`, style `valuePath`).
 */
export function matchFilter(path: MatchPath, value: Literal, style: MatchFilterStyle): { filter: string; checkLocally: boolean } {
  const prefix = path.urn ? `${path.urn}:` : '';
  if (path.filter && path.sub !== undefined && style === 'valuePath') {
    return { filter: `${prefix}${path.attr}[${path.filter.attr} eq ${literal(path.filter.value)} and ${path.sub} eq ${literal(value)}]`, checkLocally: false };
  }
  const attrPath = `${prefix}${path.attr}${path.sub !== undefined ? `.${path.sub}` : ''}`;
  return { filter: `${attrPath} eq ${literal(value)}`, checkLocally: !!path.filter };
}

/** Whether a remote account satisfies the whole matching path (value filter included) for `value`. */
function remoteSatisfies(remote: ScimObject, path: MatchPath, value: Literal): boolean {
  const container = path.urn ? getCI(remote, path.urn) : remote;
  if (!isObject(container)) return true; // the app did not return the attribute: trust its filter
  const list = getCI(container, path.attr);
  if (!Array.isArray(list)) return list === undefined; // absent: trust the filter
  return list.some(el => elementMatches(el, path.filter!) && (path.sub === undefined || sameValue(getCI(el as Json, path.sub), value)));
}

/** Matching attributes for a resource type at a target (config, else DEFAULT_MATCHING). */
export function matchingAttributes(target: TargetConfig, type: ResourceTypeName): string[] {
  return target.matching?.[type] ?? [...DEFAULT_MATCHING[type]];
}

/**
 * Finds the remote account an unlinked resource should link to instead of being created. Tries each
 * matching attribute in order, reading its value from the MAPPED payload (what the target will hold):
 * exactly one account → linked; none (or no value) → next attribute; several → {@link MatchError}, never a
 * guess. A target that refuses the filter (400) is a MatchError too: creating instead could duplicate an
 * account, and so is an account `linkedElsewhere` says belongs to another resource. Every attempt is
 * recorded in the trace. Under `profile.filter: false`, or when the target ignored the filter, the
 * accounts are found by listing instead ({@link matchByScan}).
 */
export async function findRemoteMatch(
  client: TracedClient, target: TargetConfig, type: ResourceTypeName, payload: Json, trace: PushTrace,
  linkedElsewhere?: (remoteId: string) => Promise<boolean>,
): Promise<string | undefined> {
  const style = target.profile?.matchFilter ?? 'attributePath';
  const attempts: TraceMatchAttempt[] = [];
  const done = (result: 'linked' | 'none' | 'ambiguous', remoteId?: string) => trace.add({ kind: 'match', attempts, result, remoteId });
  if (target.profile?.filter === false) return matchByScan(client, target, type, payload, trace, linkedElsewhere);
  for (const raw of matchingAttributes(target, type)) {
    const path = parseMatchPath(raw);
    const value = readMatchValue(payload, path);
    if (value === undefined || value === '') {
      attempts.push({ attribute: raw, found: 0 });
      continue;
    }
    const { filter, checkLocally } = matchFilter(path, value, style);
    let found: ScimObject[];
    try {
      found = (await client.findOne(type, filter)).body;
    } catch (e) {
      if (e instanceof TargetError && e.kind === TargetErrorKind.Permanent) {
        attempts.push({ attribute: raw, filter, found: 0 });
        done('none');
        throw new MatchError(`matching attribute "${raw}": the target refused the filter (HTTP ${e.status ?? '?'}${e.scimType ? `, ${e.scimType}` : ''}); remove it from matching, set profile.matchFilter, or set profile.filter: false (no-filter app: matching by listing)`, e.status);
      }
      throw e;
    }
    // An app that ignores `filter` lists everyone: an account that visibly does not hold the value gives it away.
    if (found.some(r => contradicts(r, path, value, type))) {
      trace.add({ kind: 'note', message: `the target ignored filter=${filter}: matching by listing instead` });
      return matchByScan(client, target, type, payload, trace, linkedElsewhere, attempts);
    }
    // findOne asks for 2 results: enough to tell one from several.
    const fits = checkLocally ? found.filter(r => remoteSatisfies(r, path, value)) : found;
    const truncated = checkLocally && found.length >= 2 && fits.length === 1;
    attempts.push({ attribute: raw, filter, found: truncated ? 2 : fits.length, remoteId: fits.length === 1 && !truncated ? String(fits[0].id) : undefined });
    const id = await settle(fits, truncated ? 'at least 2' : undefined, raw, type, done, linkedElsewhere);
    if (id) return id;
  }
  done('none');
  return undefined;
}

/**
 * One matching attribute's verdict over the accounts that hold its value: several (or `atLeast`) →
 * MatchError; one → its id, unless it is linked to another resource; none → undefined (try the next).
 */
async function settle(
  fits: ScimObject[], atLeast: string | undefined, raw: string, type: ResourceTypeName,
  done: (result: 'linked' | 'none' | 'ambiguous', remoteId?: string) => void,
  linkedElsewhere?: (remoteId: string) => Promise<boolean>,
): Promise<string | undefined> {
  if (fits.length > 1 || atLeast) {
    done('ambiguous');
    throw new MatchError(
      `ambiguous match: matching attribute "${raw}" found ${atLeast ?? fits.length} ${type} accounts at the target; ` +
      'refusing to guess — remove the duplicate at the target or link by hand, then replay',
    );
  }
  if (fits.length === 0) return undefined;
  const id = fits[0].id;
  if (typeof id !== 'string' || !id) throw new TargetError(TargetErrorKind.Permanent, { detail: `matching attribute "${raw}": the target returned an account without an id` });
  // Two canonical resources must never share one account (e.g. an email that moved between people).
  if (linkedElsewhere && (await linkedElsewhere(id))) {
    done('ambiguous', id);
    throw new MatchError(`matching attribute "${raw}" found a ${type} account that is already linked to another resource at this target; refusing to link it twice`);
  }
  done('linked', id);
  return id;
}

/** The account carries the path's attribute, and it does not hold `value` there: the filter was not applied. */
function contradicts(remote: ScimObject, path: MatchPath, value: Literal, type: ResourceTypeName): boolean {
  const container = path.urn ? getCI(remote, path.urn) : remote;
  if (!isObject(container) || getCI(container, path.attr) === undefined) return false;
  const attrOnly: MatchPath = { raw: path.raw, urn: path.urn, attr: path.attr, sub: path.sub };
  return !remoteMatcher(attrOnly, value, type, obj => readMatchValue(obj, attrOnly))(remote);
}

/**
 * Matching for an app without `filter` (profile `filter: false`, preset `no-filter`) or one that ignored
 * it: reads the listing once ({@link scanRemote}, capped by `profile.matchScanLimit`) and evaluates each
 * matching attribute, in order, on every account with the SCIM filter evaluator. Same outcomes as
 * filtered matching: one → linked, several → ambiguous MatchError, none → next attribute.
 * @throws MatchError when the listing is above `matchScanLimit` (never a guess, never an endless scan).
 */
async function matchByScan(
  client: TracedClient, target: TargetConfig, type: ResourceTypeName, payload: Json, trace: PushTrace,
  linkedElsewhere: ((remoteId: string) => Promise<boolean>) | undefined, attempts: TraceMatchAttempt[] = [],
): Promise<string | undefined> {
  const done = (result: 'linked' | 'none' | 'ambiguous', remoteId?: string) => trace.add({ kind: 'match', attempts, result, remoteId });
  const wanted = matchingAttributes(target, type).map(raw => {
    const path = parseMatchPath(raw);
    return { raw, path, value: readMatchValue(payload, path) };
  });
  if (wanted.every(w => w.value === undefined || w.value === '')) {
    for (const w of wanted) attempts.push({ attribute: w.raw, found: 0 });
    done('none');
    return undefined;
  }
  const limit = target.profile?.matchScanLimit ?? 10_000;
  let remotes: ScimObject[];
  try {
    remotes = await scanRemote(client, type, limit, trace);
  } catch (e) {
    if (!(e instanceof ScanLimitExceeded)) throw e;
    done('none');
    throw new MatchError(
      `matching by scan (no filter): the target lists ${e.total ?? `more than ${limit}`} ${type} accounts, above profile.matchScanLimit ${limit}; ` +
      'refusing to guess — raise matchScanLimit or link by hand, then replay',
    );
  }
  for (const { raw, path, value } of wanted) {
    if (value === undefined || value === '') {
      attempts.push({ attribute: raw, found: 0 });
      continue;
    }
    const fits = remotes.filter(remoteMatcher(path, value, type, obj => readMatchValue(obj, path)));
    attempts.push({ attribute: raw, filter: `scan: ${matchFilter(path, value, 'valuePath').filter}`, found: fits.length, remoteId: fits.length === 1 ? String(fits[0].id) : undefined });
    const id = await settle(fits, undefined, raw, type, done, linkedElsewhere);
    if (id) return id;
  }
  done('none');
  return undefined;
}
