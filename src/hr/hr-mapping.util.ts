/**
 * Sets a canonical attribute path in a SCIM document: `title`, `name.givenName`, or an extension
 * attribute with its schema URN (`urn:…:enterprise:2.0:User:manager.value` → doc[urn].manager.value).
 */
export function setPath(doc: Record<string, unknown>, path: string, value: unknown): void {
  let container = doc;
  let rest = path;
  if (path.toLowerCase().startsWith('urn:')) {
    const cut = path.lastIndexOf(':');
    const urn = path.slice(0, cut);
    rest = path.slice(cut + 1);
    container = ensureObject(doc, urn);
  }
  const parts = rest.split('.');
  for (const p of parts.slice(0, -1)) container = ensureObject(container, p);
  container[parts[parts.length - 1]] = value;
}

function ensureObject(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = parent[key];
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  const o: Record<string, unknown> = {};
  parent[key] = o;
  return o;
}
