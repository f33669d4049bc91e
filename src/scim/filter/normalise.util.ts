/**
 * Value normalisation shared by the in-memory filter evaluator and the SQL attribute index
 * (`resource_attr`, normalised at write time), so both agree regardless of database collation.
 * Change it only together with a re-index.
 */
import type { AttributeDefinition } from '../schema/schema.types.js';

/** What a value compares as: strings (normalised), numbers, booleans. */
export type ComparableValue = string | number | boolean;

const ASCII = /^[\x00-\x7f]*$/;

/**
 * NFC, then (caseExact false) Unicode full case folding. Lower→upper→lower mapping gives the full
 * folding of RFC 7643 §2.1's case-insensitive match for what matters in names: 'ß', 'ẞ' and 'SS'
 * all fold to 'ss', 'ﬁ' to 'fi', 'ſ' to 's'; 'İ' folds to 'i̇' (not 'i': no Turkish tailoring),
 * and final 'ς' to 'σ'.
 */
export function normaliseString(value: string, caseExact: boolean): string {
  if (ASCII.test(value)) return caseExact ? value : value.toLowerCase();
  const nfc = value.normalize('NFC');
  if (caseExact) return nfc;
  return nfc.toLowerCase().toUpperCase().toLowerCase().replace(/ς/g, 'σ').normalize('NFC');
}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/;

/**
 * An xsd:dateTime (RFC 7643 §2.3.5) as a UTC instant with milliseconds, e.g.
 * `2024-01-01T00:00:00+01:00` → `2023-12-31T23:00:00.000Z`. A value without an offset is read as
 * UTC, never as the server's local time. Undefined when it is not a valid dateTime.
 */
export function normaliseDateTime(value: string): string | undefined {
  const match = DATE_TIME.exec(value.trim());
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction, offset] = match;
  const time = hour === undefined ? '00:00:00' : `${hour}:${minute}:${second ?? '00'}`;
  const millis = fraction === undefined ? '' : fraction.slice(0, 4).padEnd(4, '0');
  const zone = offset === undefined || /^z$/i.test(offset) ? 'Z' : offset.length === 5 ? `${offset.slice(0, 3)}:${offset.slice(3)}` : offset;
  const instant = new Date(`${year}-${month}-${day}T${time}${millis}${zone}`);
  if (Number.isNaN(instant.getTime()) || instant.getUTCFullYear() < 1 || instant.getUTCFullYear() > 9999) {
    return undefined;
  }
  // Date rolls over impossible dates (Feb 30); compare the fields back to reject them.
  if (Number(day) <= 28) return instant.toISOString();
  const local = new Date(instant.getTime() + offsetMinutes(zone) * 60_000);
  if (local.getUTCDate() !== Number(day) || local.getUTCMonth() + 1 !== Number(month)) return undefined;
  return instant.toISOString();
}

function offsetMinutes(zone: string): number {
  if (zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
}

/**
 * The comparable form of one value of `attribute` (a simple type; complex has none), or undefined
 * when the value does not fit the type. Tolerates what IdPs send as strings: `"True"`/`"false"`
 * for booleans (Entra) and numeric strings for numbers; numbers and booleans meeting a string
 * attribute compare as their JSON text (an unquoted Entra value such as `externalId eq 12345`).
 */
export function normaliseForCompare(attribute: AttributeDefinition, value: unknown): ComparableValue | undefined {
  switch (attribute.type) {
    case 'string':
    case 'reference':
    case 'binary':
      if (typeof value === 'string') return normaliseString(value, attribute.caseExact);
      if (typeof value === 'number' || typeof value === 'boolean') return normaliseString(String(value), attribute.caseExact);
      return undefined;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      return undefined;
    case 'integer':
    case 'decimal':
      if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
      if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(value)) return Number(value);
      return undefined;
    case 'dateTime':
      return typeof value === 'string' ? normaliseDateTime(value) : undefined;
    case 'complex':
      return undefined;
  }
}
