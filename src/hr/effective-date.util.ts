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
 * Undefined when not a date.
 */
export function effectiveInstant(value: unknown, timeZone: string, at: 'start-of-day' | 'end-of-day'): Date | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? new Date(value > 1e12 ? value : value * 1000) : undefined;
  if (typeof value !== 'string') return undefined;
  const m = DATE_ONLY.exec(value.trim());
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return new Date(zonedMidnight(y, mo, d + (at === 'end-of-day' ? 1 : 0), timeZone));
  }
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}
