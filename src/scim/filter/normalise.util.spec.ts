import { attribute } from '../schema/attribute.util.js';
import type { AttributeType } from '../schema/schema.types.js';
import { normaliseDateTime, normaliseForCompare, normaliseString } from './normalise.util.js';

describe('normaliseString', () => {
  it.each<[string, boolean, string]>([
    ['BJensen', false, 'bjensen'],
    ['BJensen', true, 'BJensen'],
    ['Ärger', false, 'ärger'],
    ['ÄRGER', false, 'ärger'],
    ['Straße', false, 'strasse'],
    ['STRASSE', false, 'strasse'],
    ['GROẞ', false, 'gross'],
    ['Straße', true, 'Straße'],
    ['İstanbul', false, 'i\u0307stanbul'],
    ['ΟΔΟΣ', false, 'οδοσ'],
    ['οδος', false, 'οδοσ'],
    ['ﬁle', false, 'file'],
    ['ſ', false, 's'],
    ['\u212a', false, 'k'], // KELVIN SIGN
    ['e\u0301', true, '\u00e9'], // NFC even when caseExact
    ['E\u0301', false, '\u00e9'],
    ['', false, ''],
  ])('should normalise %j (caseExact %s) to %j', (input, caseExact, expected) => {
    expect(normaliseString(input, caseExact)).toBe(expected);
  });

  it.each(['Straße', 'İstanbul', 'ΟΔΟΣ', 'ﬃ', 'ǅemal', 'Ꭰꭰ', 'ΐ'])('should be idempotent for %j', (input) => {
    const once = normaliseString(input, false);
    expect(normaliseString(once, false)).toBe(once);
    expect(normaliseString(input.toUpperCase(), false)).toBe(once);
  });
});

describe('normaliseDateTime', () => {
  it.each<[string, string | undefined]>([
    ['2024-01-01T00:00:00Z', '2024-01-01T00:00:00.000Z'],
    ['2024-01-01T00:00:00+01:00', '2023-12-31T23:00:00.000Z'],
    ['2024-01-01T00:00:00-05:30', '2024-01-01T05:30:00.000Z'],
    ['2024-01-01T00:00:00+0100', '2023-12-31T23:00:00.000Z'],
    ['2011-05-13T06:42:34+02:00', '2011-05-13T04:42:34.000Z'],
    ['2024-01-01t00:00:00z', '2024-01-01T00:00:00.000Z'],
    ['2024-01-01T00:00:00', '2024-01-01T00:00:00.000Z'],
    ['2024-01-01T00:00', '2024-01-01T00:00:00.000Z'],
    ['2024-01-01', '2024-01-01T00:00:00.000Z'],
    ['2024-01-01T12:34:56.7Z', '2024-01-01T12:34:56.700Z'],
    ['2024-01-01T12:34:56.123456789Z', '2024-01-01T12:34:56.123Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2023-02-29T00:00:00Z', undefined],
    ['2024-02-30', undefined],
    ['2024-13-01T00:00:00Z', undefined],
    ['2024-01-01T25:00:00Z', undefined],
    ['yesterday', undefined],
    ['1704067200', undefined],
    ['', undefined],
  ])('should read %j as %j', (input, expected) => {
    expect(normaliseDateTime(input)).toBe(expected);
  });
});

describe('normaliseForCompare', () => {
  const of = (type: AttributeType, caseExact = false) => attribute('x', type, 'test', { caseExact });

  it.each<[string, AttributeType, boolean, unknown, unknown]>([
    ['a string, case-folded', 'string', false, 'ÄBC', 'äbc'],
    ['a caseExact string', 'string', true, 'ÄBC', 'ÄBC'],
    ['a number meeting a string attribute', 'string', false, 12345, '12345'],
    ['a boolean meeting a string attribute', 'string', false, true, 'true'],
    ['an object meeting a string attribute', 'string', false, { a: 1 }, undefined],
    ['a reference', 'reference', false, 'HTTPS://X/Users/1', 'https://x/users/1'],
    ['binary (caseExact)', 'binary', true, 'TUlJ', 'TUlJ'],
    ['a boolean', 'boolean', false, false, false],
    ['Entra\'s "False"', 'boolean', false, 'False', false],
    ['"TRUE"', 'boolean', false, 'TRUE', true],
    ['"yes" as a boolean', 'boolean', false, 'yes', undefined],
    ['1 as a boolean', 'boolean', false, 1, undefined],
    ['an integer', 'integer', false, 42, 42],
    ['a numeric string as an integer', 'integer', false, '42', 42],
    ['a decimal', 'decimal', false, 1.5, 1.5],
    ['a numeric string as a decimal', 'decimal', false, '-1.5e2', -150],
    ['a non-numeric string as a number', 'decimal', false, 'abc', undefined],
    ['NaN', 'decimal', false, Number.NaN, undefined],
    ['a dateTime with an offset', 'dateTime', false, '2024-01-01T00:00:00+01:00', '2023-12-31T23:00:00.000Z'],
    ['a malformed dateTime', 'dateTime', false, 'not a date', undefined],
    ['a number as a dateTime', 'dateTime', false, 0, undefined],
    ['anything as complex', 'complex', false, { value: 'x' }, undefined],
  ])('should normalise %s', (_name, type, caseExact, value, expected) => {
    expect(normaliseForCompare(of(type, caseExact), value)).toBe(expected);
  });
});
