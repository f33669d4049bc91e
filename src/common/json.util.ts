/** A JSON object (SCIM resources and payloads). */
export type Json = Record<string, unknown>;

/** The key of `obj` that equals `name` ignoring case (SCIM attribute names are case-insensitive, RFC 7643 §2.1). */
export function keyCI(obj: Json, name: string): string | undefined {
  if (Object.hasOwn(obj, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(obj).find(k => k.toLowerCase() === lower);
}

/** `obj[name]`, matching the key case-insensitively. */
export function getCI(obj: Json, name: string): unknown {
  const key = keyCI(obj, name);
  return key === undefined ? undefined : obj[key];
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
