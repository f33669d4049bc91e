/**
 * Groups as the filter compiler reads them (src/scim/query/filter-sql.ts): each member carries
 * `display`, the member's current displayName, or a User's userName when it has none (RFC 7643 §4.2).
 * `resources` are the served Users and Groups the members are looked up in.
 */
export function withMemberDisplay(groups: Array<Record<string, unknown>>, resources: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const byId = new Map(resources.map((r) => [r.id as string, r]));
  const display = (r: Record<string, unknown> | undefined) => {
    if (!r) return undefined;
    return typeof r.displayName === 'string' && r.displayName !== '' ? r.displayName : r.userName;
  };
  return groups.map((g) => {
    if (!Array.isArray(g.members)) return g;
    return { ...g, members: g.members.map((m: Record<string, unknown>) => ({ ...m, display: display(byId.get(m.value as string)) })) };
  });
}
