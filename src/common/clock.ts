/** ISO-8601 UTC instant with milliseconds: the one timestamp format stored and returned. */
export function nowIso(): string {
  return new Date().toISOString();
}
