/**
 * JSON text with object keys sorted at every level: two documents that differ only in key order give
 * the same text (a PATCH that removes and re-adds a value changes nothing). Callers pass bounded-depth
 * JSON (request bodies are checked by the SCIM layer's assertSafeJson).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v);
}
