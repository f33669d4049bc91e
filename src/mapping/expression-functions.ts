import jsonata from 'jsonata';

/**
 * Functions Switchboard adds to JSONata for attribute mappings (README "Attribute mappings").
 * Each is null-safe: an absent or null first argument gives an absent result, so `default` applies.
 */
export interface MappingFunction {
  /** JSONata function signature (https://docs.jsonata.org/embedding-extending#function-signature-syntax); none = variadic. */
  readonly signature?: string;
  readonly implementation: (...args: unknown[]) => unknown;
}

/** Letters NFKD does not decompose into a base letter plus marks. */
const LETTERS: Record<string, string> = {
  ß: 'ss', ẞ: 'SS', æ: 'ae', Æ: 'AE', œ: 'oe', Œ: 'OE', ø: 'o', Ø: 'O', ł: 'l', Ł: 'L', đ: 'd', Đ: 'D',
  ð: 'd', Ð: 'D', þ: 'th', Þ: 'Th', ı: 'i', ħ: 'h', Ħ: 'H', ŧ: 't', Ŧ: 'T',
};
const SPECIAL_LETTERS = new RegExp(`[${Object.keys(LETTERS).join('')}]`, 'g');

/** `$normalizeDiacritics("Zoë Łukasz-Straße")` → `"Zoe Lukasz-Strasse"`: marks dropped (Unicode NFKD), ß/æ/ø/ł… spelled out. */
export function normalizeDiacritics(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return String(value).normalize('NFKD').replace(/\p{M}+/gu, '').replace(SPECIAL_LETTERS, c => LETTERS[c]!).normalize('NFC');
}

/** `$stripSpaces(" +49 30 1234 567 ")` → `"+49301234567"`: every whitespace character, incl. no-break and zero-width spaces. */
export function stripSpaces(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return String(value).replace(/[\s\u200b-\u200d\u2060\ufeff]+/g, '');
}

/**
 * `$coalesce(nickName, name.givenName, "n/a")`: the first argument that is neither absent, null, `""`
 * nor an empty array; absent when there is none.
 */
export function coalesce(...values: unknown[]): unknown {
  return values.find(v => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0));
}

/**
 * `$switch(userType, "Employee", "E", "Contractor", "C", "X")`: the result paired with the first case
 * equal to `value` (strict equality, so `"1"` ≠ `1`), else the trailing default (absent without one).
 */
export function switchCase(value: unknown, ...pairs: unknown[]): unknown {
  for (let i = 0; i + 1 < pairs.length; i += 2) if (pairs[i] === value) return pairs[i + 1];
  return pairs.length % 2 === 1 ? pairs[pairs.length - 1] : undefined;
}

const fromMillis = jsonata('$fromMillis($millis, $picture, $tz)');

/**
 * `$formatDate(date, picture[, timezone])`: formats an ISO 8601 dateTime (or epoch milliseconds) with
 * a JSONata/XPath picture string (`[Y0001]-[M01]-[D01]`, `[D1] [MNn] [Y]`), in UTC or `timezone`:
 * `±HHMM` or an IANA name (`Europe/Berlin`, offset taken at that instant).
 * @throws Error when `date` is not a date or `timezone` unknown (the push dead-letters with that reason).
 */
export async function formatDate(date: unknown, picture: unknown, timezone?: unknown): Promise<string | undefined> {
  if (date === undefined || date === null || date === '') return undefined;
  const millis = typeof date === 'number' ? date : typeof date === 'string' && /^\d{4}-\d{2}-\d{2}/.test(date) ? Date.parse(date) : NaN;
  if (!Number.isFinite(millis)) throw new Error('$formatDate: the first argument is not an ISO 8601 date or epoch milliseconds');
  if (typeof picture !== 'string') throw new Error('$formatDate: the picture must be a string');
  const tz = timezone === undefined || timezone === null ? undefined : offsetOf(String(timezone), millis);
  return (await fromMillis.evaluate({}, { millis, picture, tz })) as string;
}

/** `+0100` from `+0100`, `+01:00` or an IANA zone name at the given instant. */
function offsetOf(zone: string, millis: number): string {
  const fixed = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (fixed) return `${fixed[1]}${fixed[2]}${fixed[3]}`;
  let name: string | undefined;
  try {
    name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
      .formatToParts(millis).find(p => p.type === 'timeZoneName')?.value;
  } catch {
    throw new Error(`$formatDate: unknown timezone "${zone}" (use ±HHMM or an IANA name)`);
  }
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name ?? '');
  return m ? `${m[1]}${m[2]}${m[3]}` : '+0000';
}

/** The added functions, by JSONata name (without `$`). */
export const MAPPING_FUNCTIONS: Readonly<Record<string, MappingFunction>> = {
  normalizeDiacritics: { implementation: normalizeDiacritics },
  stripSpaces: { implementation: stripSpaces },
  formatDate: { implementation: formatDate as (...args: unknown[]) => unknown },
  switch: { implementation: switchCase as (...args: unknown[]) => unknown },
  coalesce: { implementation: coalesce },
};

/** JSONata 2.2 built-in functions (https://docs.jsonata.org/overview), minus `$eval`, which would escape the start-time checks. */
export const JSONATA_BUILTINS: ReadonlySet<string> = new Set([
  'string', 'length', 'substring', 'substringBefore', 'substringAfter', 'uppercase', 'lowercase', 'trim', 'pad',
  'contains', 'split', 'join', 'match', 'replace', 'base64encode', 'base64decode', 'encodeUrlComponent', 'encodeUrl',
  'decodeUrlComponent', 'decodeUrl', 'number', 'abs', 'floor', 'ceil', 'round', 'power', 'sqrt', 'random',
  'formatNumber', 'formatBase', 'formatInteger', 'parseInteger', 'sum', 'max', 'min', 'average', 'boolean', 'not',
  'exists', 'count', 'append', 'sort', 'reverse', 'shuffle', 'distinct', 'zip', 'keys', 'lookup', 'spread', 'merge',
  'sift', 'each', 'error', 'assert', 'type', 'now', 'millis', 'fromMillis', 'toMillis', 'map', 'filter', 'single', 'reduce',
]);
