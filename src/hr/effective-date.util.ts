/** A date without time (`2026-03-01`). */
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Offset (ms) of `timeZone` from UTC at instant `utcMs` (positive east of Greenwich). */
function zoneOffset(utcMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(utcMs));
  const n = (t: string) => Number(parts.find(p => p.type === t)?.value);
  return Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second')) - Math.floor(utcMs / 1000) * 1000;
}

/** UTC instant of local midnight starting `y-m-d` in `timeZone` (DST-safe: offset re-read at the result). */
export function zonedMidnight(y: number, m: number, d: number, timeZone: string): number {
  const guess = Date.UTC(y, m - 1, d);
  let t = guess - zoneOffset(guess, timeZone);
  t = guess - zoneOffset(t, timeZone);
  return t;
}

/**
 * The instant an HR date means: an ISO instant as is; a date without time read in the source's
 * `timeZone` — its start, or (for terminations with `end-of-day`) the start of the next day.
 * Undefined when not a date: unparsable, a calendar date that does not exist (2026-02-30), or
 * outside the years 1900–9999.
 */
export function effectiveInstant(value: unknown, timeZone: string, at: 'start-of-day' | 'end-of-day'): Date | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? inRange(new Date(value > 1e12 ? value : value * 1000)) : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  // Date.parse rolls 2026-02-30 over to March 2: the calendar date must exist as written.
  const ymd = DATE_PREFIX.exec(text);
  if (ymd && !calendarDate(Number(ymd[1]), Number(ymd[2]), Number(ymd[3]))) return undefined;
  const m = DATE_ONLY.exec(text);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return inRange(new Date(zonedMidnight(y, mo, d + (at === 'end-of-day' ? 1 : 0), timeZone)));
  }
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : inRange(new Date(ms));
}

/** Earliest and latest instants an HR date may name (years 1900–9999): beyond them it is a data error. */
const MIN_MS = Date.UTC(1900, 0, 1);
const MAX_MS = Date.UTC(10000, 0, 1) - 1;
/** The date part of an ISO-8601 date or date-time. */
const DATE_PREFIX = /^(\d{4})-(\d{2})-(\d{2})(?:$|T)/;

function calendarDate(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

function inRange(d: Date): Date | undefined {
  const ms = d.getTime();
  return Number.isNaN(ms) || ms < MIN_MS || ms > MAX_MS ? undefined : d;
}
