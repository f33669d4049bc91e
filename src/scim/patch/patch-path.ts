import { MAX_ATTRIBUTE_NAME } from '../json-limits.util.js';
import { ENTERPRISE_USER_SCHEMA, USER_SCHEMA, GROUP_SCHEMA } from '../scim.constants.js';
import { ScimError } from '../scim.error.js';

/** A parsed PATCH path: `[uri:]attr[ [filter] ][.sub]` (RFC 7644 §3.5.2 PATH). First cut: `attr eq literal` filters. */
export interface PatchPath {
  uri?: string;
  attr: string;
  sub?: string;
  filter?: { attr: string; op: 'eq'; value: string | number | boolean | null };
}

const KNOWN_URNS = [ENTERPRISE_USER_SCHEMA, USER_SCHEMA, GROUP_SCHEMA];

/** Parses a PATCH path or a no-path value key (`name.givenName`, full-URN keys). 400 invalidPath. */
export function parsePath(text: string): PatchPath {
  if (text.length > 2 * MAX_ATTRIBUTE_NAME + 512) throw ScimError.invalidPath('Path is too long');
  let rest = text.trim();
  let uri: string | undefined;
  const urn = KNOWN_URNS.find(u => rest.toLowerCase().startsWith(u.toLowerCase() + ':'));
  if (urn) { uri = urn; rest = rest.slice(urn.length + 1); }
  else if (/^urn:/i.test(rest)) {
    const i = rest.lastIndexOf(':');
    const whole = KNOWN_URNS.find(u => u.toLowerCase() === rest.toLowerCase());
    if (whole) return { attr: whole };
    uri = rest.slice(0, i); rest = rest.slice(i + 1);
  }
  const m = /^([A-Za-z$][\w$-]*)(?:\[\s*([A-Za-z$][\w$-]*)\s+(eq)\s+("(?:[^"\\]|\\.)*"|true|false|null|-?\d+(?:\.\d+)?)\s*\])?(?:\.([A-Za-z$][\w$-]*))?$/i.exec(rest);
  if (!m) throw ScimError.invalidPath(`Unsupported or malformed path "${text}"`);
  const [, attr, fAttr, , fValue, sub] = m;
  if ([attr, fAttr, sub].some(n => n && n.length > MAX_ATTRIBUTE_NAME)) throw ScimError.invalidPath(`Attribute name in "${text.slice(0, 40)}" is too long`);
  const path: PatchPath = { uri, attr, sub };
  if (fAttr) path.filter = { attr: fAttr, op: 'eq', value: literal(fValue, text) };
  if (typeof path.filter?.value === 'string' && path.filter.value.includes('\u0000')) throw ScimError.invalidPath('A path filter value must not contain U+0000');
  // A dotted no-path key like `name.givenName` parses as attr + sub.
  return path;
}

/** A filter literal; the regex admits what JSON rejects (`"\\q"`, `01`, raw control characters). */
function literal(text: string, path: string): string | number | boolean | null {
  try {
    return JSON.parse(/^(true|false|null)$/i.test(text) ? text.toLowerCase() : text);
  } catch {
    throw ScimError.invalidPath(`Invalid value ${text.slice(0, 40)} in path "${path.slice(0, 80)}"`);
  }
}
