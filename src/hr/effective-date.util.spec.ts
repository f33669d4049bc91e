import { effectiveInstant } from './effective-date.util.js';

describe('effectiveInstant', () => {
  it('reads a date without time in the source time zone (start or end of that day, DST-aware)', () => {
    expect(effectiveInstant('2030-01-15', 'Europe/Berlin', 'start-of-day')!.toISOString()).toBe('2030-01-14T23:00:00.000Z');
    expect(effectiveInstant('2030-01-15', 'Europe/Berlin', 'end-of-day')!.toISOString()).toBe('2030-01-15T23:00:00.000Z');
    expect(effectiveInstant('2030-07-15', 'Europe/Berlin', 'end-of-day')!.toISOString()).toBe('2030-07-15T22:00:00.000Z');
    expect(effectiveInstant('2030-01-31', 'America/New_York', 'end-of-day')!.toISOString()).toBe('2030-02-01T05:00:00.000Z');
    expect(effectiveInstant('2030-03-10', 'America/New_York', 'end-of-day')!.toISOString()).toBe('2030-03-11T04:00:00.000Z');
  });

  it('keeps instants, reads Unix seconds, refuses non-dates', () => {
    expect(effectiveInstant('2030-01-15T10:00:00+02:00', 'UTC', 'end-of-day')!.toISOString()).toBe('2030-01-15T08:00:00.000Z');
    expect(effectiveInstant(1671058841, 'UTC', 'start-of-day')!.toISOString()).toBe('2022-12-14T23:00:41.000Z');
    expect(effectiveInstant('next tuesday', 'UTC', 'start-of-day')).toBeUndefined();
    expect(effectiveInstant('', 'UTC', 'start-of-day')).toBeUndefined();
  });

  it('refuses dates that do not exist or fall outside the years 1900–9999, never rolling them over', () => {
    expect(effectiveInstant('2026-02-30', 'UTC', 'start-of-day')).toBeUndefined();
    expect(effectiveInstant('2026-02-30T10:00:00Z', 'UTC', 'start-of-day')).toBeUndefined();
    expect(effectiveInstant('2026-13-01', 'UTC', 'start-of-day')).toBeUndefined();
    expect(effectiveInstant('2028-02-29', 'UTC', 'start-of-day')!.toISOString()).toBe('2028-02-29T00:00:00.000Z');
    expect(effectiveInstant(1e20, 'UTC', 'end-of-day')).toBeUndefined();
    expect(effectiveInstant(-1e15, 'UTC', 'end-of-day')).toBeUndefined();
    expect(effectiveInstant('1899-12-31', 'UTC', 'start-of-day')).toBeUndefined();
    expect(effectiveInstant('9999-12-31', 'UTC', 'end-of-day')).toBeUndefined();
    expect(effectiveInstant('9999-12-31', 'UTC', 'start-of-day')!.toISOString()).toBe('9999-12-31T00:00:00.000Z');
    expect(effectiveInstant('+275760-09-13T00:00:00Z', 'UTC', 'start-of-day')).toBeUndefined();
  });
});
