import 'reflect-metadata';
import { IsBoolean, IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';

/**
 * Built-in quirk presets, named after behaviour (not after vendors), so a reader knows what they do:
 * - `generic`: RFC 7644 as written — PATCH (§3.5.2) for updates, membership as chunked delta PATCHes,
 *   matching filters on attribute paths (`emails.value eq "…"`).
 * - `put-only`: the app refuses PATCH (many Okta-style "SCIM 2.0 PUT" apps): every update is a full PUT
 *   of the mapped state (§3.5.1) and a group's members go as the full member list in that PUT.
 * - `eq-only`: the app filters only with `eq` on plain attributes (Atlassian-style): valuePath matching
 *   attributes are sent as their attribute path (`emails.value eq "…"`), never as a valuePath filter.
 * - `no-filter`: the app cannot filter (ServiceProviderConfig `filter.supported: false`): matching pages
 *   through `GET /Users?startIndex=&count=` (RFC 7644 §3.4.2.4) and compares locally; no `filter=` is sent.
 */
export const PROFILE_PRESETS = ['generic', 'put-only', 'eq-only', 'no-filter'] as const;
export type ProfilePreset = (typeof PROFILE_PRESETS)[number];

/** How a matching attribute with a value filter (`emails[primary eq true].value`) is sent to the target. */
export const MATCH_FILTER_STYLES = ['attributePath', 'valuePath'] as const;
export type MatchFilterStyle = (typeof MATCH_FILTER_STYLES)[number];

/** `profile:` of a target in `switchboard.yaml`. Every switch overrides the preset's value. */
export class TargetProfileDto {
  @IsOptional() @IsIn(PROFILE_PRESETS as unknown as string[])
  preset?: ProfilePreset;

  /** Updates as a full PUT of the mapped state instead of PATCH (RFC 7644 §3.5.1). */
  @IsOptional() @IsBoolean()
  putOnly?: boolean;

  /** `patch`: membership as add/remove deltas; `put`: the full member list in a PUT of the group. */
  @IsOptional() @IsIn(['patch', 'put'])
  groupMembershipVia?: 'patch' | 'put';

  /** Members per membership PATCH request (default 100). */
  @IsOptional() @IsInt() @Min(1) @Max(10_000)
  membershipChunkSize?: number;

  /**
   * `attributePath` (default): `emails[primary eq true].value` is looked up as `emails.value eq "…"`
   * (RFC 7644 §3.4.2.2, widely supported) and the answer is checked for the value filter here;
   * `valuePath`: sent as `emails[primary eq true and value eq "…"]` for apps that support valuePath filters.
   */
  @IsOptional() @IsIn(MATCH_FILTER_STYLES as unknown as string[])
  matchFilter?: MatchFilterStyle;

  /**
   * `false`: the app does not support `filter` (RFC 7644 §3.4.2.2): matching lists the accounts page by
   * page (`startIndex`/`count`, §3.4.2.4) and evaluates each matching attribute locally. Default `true`.
   */
  @IsOptional() @IsBoolean()
  filter?: boolean;

  /** Most remote accounts a matching scan reads; a bigger target is a dead letter, not a guess (default 10,000). */
  @IsOptional() @IsInt() @Min(1) @Max(1_000_000)
  matchScanLimit?: number;
}

/** A target's quirk profile with the preset and every default applied. */
export interface TargetProfile {
  preset: ProfilePreset;
  putOnly: boolean;
  groupMembershipVia: 'patch' | 'put';
  membershipChunkSize: number;
  matchFilter: MatchFilterStyle;
  /** False: matching scans the listing instead of sending `filter=`. */
  filter: boolean;
  matchScanLimit: number;
}

/** Default `matchScanLimit`: remote accounts a no-filter matching scan may read. */
export const DEFAULT_MATCH_SCAN_LIMIT = 10_000;

const PRESETS: Record<ProfilePreset, Omit<TargetProfile, 'preset'>> = {
  generic: { putOnly: false, groupMembershipVia: 'patch', membershipChunkSize: 100, matchFilter: 'attributePath', filter: true, matchScanLimit: DEFAULT_MATCH_SCAN_LIMIT },
  'put-only': { putOnly: true, groupMembershipVia: 'put', membershipChunkSize: 100, matchFilter: 'attributePath', filter: true, matchScanLimit: DEFAULT_MATCH_SCAN_LIMIT },
  'eq-only': { putOnly: false, groupMembershipVia: 'patch', membershipChunkSize: 100, matchFilter: 'attributePath', filter: true, matchScanLimit: DEFAULT_MATCH_SCAN_LIMIT },
  'no-filter': { putOnly: false, groupMembershipVia: 'patch', membershipChunkSize: 100, matchFilter: 'attributePath', filter: false, matchScanLimit: DEFAULT_MATCH_SCAN_LIMIT },
};

/** Applies the preset (default `generic`), then the explicit switches. `putOnly` implies membership via PUT. */
export function resolveProfile(dto: TargetProfileDto | undefined): TargetProfile {
  // An unknown preset was reported by class-validator; it must not take the defaults down with it.
  const preset = dto?.preset !== undefined && (PROFILE_PRESETS as readonly unknown[]).includes(dto.preset) ? dto.preset : 'generic';
  const base = PRESETS[preset];
  const putOnly = dto?.putOnly ?? base.putOnly;
  return {
    preset,
    putOnly,
    groupMembershipVia: putOnly ? 'put' : dto?.groupMembershipVia ?? base.groupMembershipVia,
    membershipChunkSize: dto?.membershipChunkSize ?? base.membershipChunkSize,
    matchFilter: preset === 'eq-only' ? 'attributePath' : dto?.matchFilter ?? base.matchFilter,
    filter: dto?.filter ?? base.filter,
    matchScanLimit: dto?.matchScanLimit ?? base.matchScanLimit,
  };
}

/** Default matching attributes (DESIGN.md, Targets): the identifying name of each resource type. */
export const DEFAULT_MATCHING = { User: ['userName'], Group: ['displayName'] } as const;

/** Matching attributes per resource type, in the order they are tried. */
export interface MatchingConfig { User: string[]; Group: string[] }

/** `attr`, `attr.sub`, `urn:…:attr[.sub]` or `attr[sub eq literal].sub` (the paths matching can send as a filter). */
const MATCH_PATH_RE = /^(urn:[A-Za-z0-9:._-]+:)?[A-Za-z$][\w$-]*(\[\s*[A-Za-z$][\w$-]*\s+eq\s+("(?:[^"\\]|\\.)*"|true|false|-?\d+(\.\d+)?)\s*\])?(\.[A-Za-z$][\w$-]*)?$/i;

/**
 * `matching:` of a target: a list (applies to Users; Groups keep `displayName`) or
 * `{ User: [...], Group: [...] }`. Problems are appended to `problems`, naming `where`.
 */
export function normaliseMatching(raw: unknown, where: string, problems: string[]): MatchingConfig {
  const out: MatchingConfig = { User: [...DEFAULT_MATCHING.User], Group: [...DEFAULT_MATCHING.Group] };
  if (raw === undefined || raw === null) return out;
  const list = (v: unknown, at: string): string[] | undefined => {
    if (!Array.isArray(v) || v.length === 0 || !v.every(x => typeof x === 'string')) {
      problems.push(`${at}: must be a non-empty list of attribute paths`);
      return undefined;
    }
    for (const p of v as string[]) if (!MATCH_PATH_RE.test(p.trim())) problems.push(`${at}: "${p}" is not an attribute path (attr, attr.sub, urn:…:attr or attr[sub eq "v"].sub)`);
    return (v as string[]).map(p => p.trim());
  };
  if (Array.isArray(raw)) {
    out.User = list(raw, `${where}.matching`) ?? out.User;
    return out;
  }
  if (typeof raw !== 'object') {
    problems.push(`${where}.matching: must be a list of attribute paths or { User: [...], Group: [...] }`);
    return out;
  }
  for (const [k, v] of Object.entries(raw)) {
    if (k !== 'User' && k !== 'Group') problems.push(`${where}.matching.${k}: unknown key (User or Group)`);
    else out[k] = list(v, `${where}.matching.${k}`) ?? out[k];
  }
  return out;
}
