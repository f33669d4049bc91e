import { getCI, isObject, Json, keyCI } from '../../common/json.util.js';

/**
 * The part of a remote account (as GET returned it) that the push owns: the attributes of the mapped
 * state we want (`desired`) plus those we pushed last time (`previous`, so an attribute no longer mapped
 * is still removed), nothing else. `readBack` diffs `desired` against this, so an edit made in the app
 * is repaired while attributes the app adds itself (`id`, `meta`, `groups`, unmapped sub-attributes) are
 * left alone. Complex singular attributes and extensions are projected per sub-attribute; multi-valued
 * attributes are taken whole (diffMapped replaces them whole).
 */
export function projectRemote(remote: Json, desired: Json, previous: Json | undefined): Json {
  const out: Json = {};
  const keys = new Set([...Object.keys(desired), ...Object.keys(previous ?? {})].filter(k => k.toLowerCase() !== 'schemas'));
  for (const key of keys) {
    const remoteKey = keyCI(remote, key);
    if (remoteKey === undefined) continue;
    const value = remote[remoteKey];
    const want = getCI(desired, key);
    const had = previous ? getCI(previous, key) : undefined;
    if (isObject(value) && !Array.isArray(value) && (isObject(want) || isObject(had))) {
      out[key] = projectRemote(value, isObject(want) ? want : {}, isObject(had) ? had : undefined);
    } else {
      out[key] = value;
    }
  }
  return out;
}
