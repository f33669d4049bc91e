import { request } from 'undici';

/** What a target should hold for one user after the sequence. */
/** `absent`: the target must not have it (deleted there). */
export interface ExpectedUser { userName: string; active: boolean; familyName: string; title?: string; absent?: boolean }
/** What a target should hold, keyed by userName / group displayName. */
export interface ExpectedState { users: Map<string, ExpectedUser>; groups: Map<string, Set<string>> }

/** Reads every resource of a type from a SCIM service provider, paging with startIndex/count. */
export async function readAll(baseUrl: string, token: string, endpoint: 'Users' | 'Groups'): Promise<Array<Record<string, any>>> {
  const out: Array<Record<string, any>> = [];
  for (let start = 1; ; start += 100) {
    const res = await request(`${baseUrl}/${endpoint}?startIndex=${start}&count=100`, { headers: { authorization: `Bearer ${token}`, accept: 'application/scim+json' } });
    const body = (await res.body.json()) as { Resources?: Array<Record<string, any>>; totalResults: number };
    const page = body.Resources ?? [];
    out.push(...page);
    if (!page.length || out.length >= body.totalResults) return out;
  }
}

/**
 * Compares a target's state, read back over SCIM, with what it should hold. Returns one line per
 * difference (empty = converged).
 */
export async function verifyTarget(baseUrl: string, token: string, expected: ExpectedState): Promise<string[]> {
  const problems: string[] = [];
  const users = await readAll(baseUrl, token, 'Users');
  const groups = await readAll(baseUrl, token, 'Groups');
  const byName = new Map(users.map(u => [String(u.userName).toLowerCase(), u]));
  const nameById = new Map(users.map(u => [u.id as string, String(u.userName).toLowerCase()]));
  for (const [name, want] of expected.users) {
    const got = byName.get(name.toLowerCase());
    if (want.absent) { if (got) problems.push(`user ${name} should have been deleted`); continue; }
    if (!got) { problems.push(`user ${name} missing`); continue; }
    if ((got.active !== false) !== want.active) problems.push(`user ${name}: active ${got.active}, want ${want.active}`);
    if (want.active && got.name?.familyName !== want.familyName) problems.push(`user ${name}: familyName ${got.name?.familyName}, want ${want.familyName}`);
    if (want.active && want.title !== undefined && got.title !== want.title) problems.push(`user ${name}: title ${got.title}, want ${want.title}`);
  }
  for (const [name, wantMembers] of expected.groups) {
    const g = groups.find(x => x.displayName === name);
    if (!g) { problems.push(`group ${name} missing`); continue; }
    const got = new Set(((g.members ?? []) as Array<{ value: string }>).map(m => nameById.get(m.value) ?? `?${m.value}`));
    const missing = [...wantMembers].filter(m => !got.has(m.toLowerCase()));
    const extra = [...got].filter(m => ![...wantMembers].some(w => w.toLowerCase() === m));
    if (missing.length || extra.length) problems.push(`group ${name}: ${missing.length} members missing, ${extra.length} unexpected`);
  }
  return problems;
}
