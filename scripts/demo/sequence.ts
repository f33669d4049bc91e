/**
 * A realistic IdP provisioning sequence, shaped like what Okta and Microsoft Entra ID send (their
 * documented request shapes): user creates with the enterprise extension, group creates, membership
 * adds and removes, profile updates (PATCH and PUT), deactivations, a delete.
 */

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const GIVEN = ['Ada', 'Grace', 'Linus', 'Margaret', 'Alan', 'Barbara', 'Dennis', 'Frances', 'Ken', 'Radia', 'Tim', 'Hedy', 'Edsger', 'Katherine', 'Guido', 'Anita', 'José', 'Zoë', 'Søren', 'Ångström'];
const FAMILY = ['Lovelace', 'Hopper', 'Torvalds', 'Hamilton', 'Turing', 'Liskov', 'Ritchie', 'Allen', 'Thompson', 'Perlman', 'Berners-Lee', 'Lamarr', 'Dijkstra', 'Johnson', 'van Rossum', 'Borg', 'García', 'Müller', 'Kierkegaard', 'Øberg'];
const DEPTS = ['R&D', 'Sales', 'Finance', 'Support', 'Marketing', 'People'];
const TITLES = ['Engineer', 'Senior Engineer', 'Manager', 'Analyst', 'Director', 'Specialist'];
export const GROUP_NAMES = ['eng-backend', 'eng-frontend', 'sales-emea', 'finance', 'all-staff', 'slack-users'];

/** One request of the sequence, against `/scim/v2`. `ref` names resources created earlier in the sequence. */
export interface Step {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path with `{user:N}` / `{group:N}` placeholders for ids assigned by Switchboard. */
  path: string;
  body?: unknown;
  /** Steps in one phase may run concurrently; phases run in order. */
  phase: number;
  /** What a created resource is called in later steps. */
  creates?: string;
  /** Shapes: which IdP this request imitates. */
  idp: 'okta' | 'entra';
}

function user(i: number): Record<string, unknown> {
  const given = GIVEN[i % GIVEN.length];
  const family = FAMILY[(i * 7) % FAMILY.length];
  const login = `${given}.${family}${i}`.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[^a-z0-9.]/g, '');
  return {
    schemas: [CORE, ENT],
    userName: `${login}@example.com`,
    name: { givenName: given, familyName: family, formatted: `${given} ${family}` },
    displayName: `${given} ${family}`,
    emails: [{ value: `${login}@example.com`, type: 'work', primary: true }],
    phoneNumbers: [{ value: `+1-555-01${String(i).padStart(4, '0')}`, type: 'work' }],
    title: TITLES[i % TITLES.length],
    locale: i % 3 ? 'en-US' : 'de-DE',
    active: true,
    [ENT]: { employeeNumber: String(10000 + i), department: DEPTS[i % DEPTS.length], costCenter: `CC-${100 + (i % 9)}`, organization: 'Example Corp' },
  };
}

/** Builds the sequence for `users` users (≥ 12) and the six groups. */
export function buildSequence(users: number): Step[] {
  const steps: Step[] = [];
  for (let i = 0; i < users; i++) steps.push({ method: 'POST', path: '/Users', body: user(i), phase: 1, creates: `user:${i}`, idp: i % 2 ? 'entra' : 'okta' });
  GROUP_NAMES.forEach((name, g) => steps.push({ method: 'POST', path: '/Groups', body: { schemas: [GROUP], displayName: name, members: [] }, phase: 2, creates: `group:${g}`, idp: 'okta' }));
  // Membership adds, Okta style: one PATCH add per group with many members.
  GROUP_NAMES.forEach((_, g) => {
    const members = [];
    for (let i = g; i < users; i += g + 2) members.push({ value: `{user:${i}}` });
    steps.push({ method: 'PATCH', path: `/Groups/{group:${g}}`, body: { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: members }] }, phase: 3, idp: 'okta' });
  });
  // Membership removes: Okta's valuePath form and Entra's value-array form.
  steps.push({ method: 'PATCH', path: '/Groups/{group:0}', body: { schemas: [PATCH], Operations: [{ op: 'remove', path: 'members[value eq "{user:0}"]' }] }, phase: 4, idp: 'okta' });
  steps.push({ method: 'PATCH', path: '/Groups/{group:4}', body: { schemas: [PATCH], Operations: [{ op: 'Remove', path: 'members', value: [{ value: '{user:4}' }, { value: '{user:10}' }] }] }, phase: 4, idp: 'entra' });
  // Profile updates: Entra PATCH (capitalised ops, URN paths) and Okta PUT.
  for (let i = 1; i < users; i += 5) {
    steps.push({ method: 'PATCH', path: `/Users/{user:${i}}`, body: { schemas: [PATCH], Operations: [
      { op: 'Replace', path: 'title', value: 'Principal Engineer' },
      { op: 'Replace', path: `${ENT}:department`, value: 'Platform' },
    ] }, phase: 4, idp: 'entra' });
  }
  for (let i = 2; i < users; i += 7) {
    const body = user(i);
    (body.name as Record<string, string>).familyName = `${(body.name as Record<string, string>).familyName}-Smith`;
    steps.push({ method: 'PUT', path: `/Users/{user:${i}}`, body, phase: 4, idp: 'okta' });
  }
  // Deactivations: Okta (boolean) and Entra ("False" string).
  for (let i = 3; i < users; i += 11) {
    steps.push({ method: 'PATCH', path: `/Users/{user:${i}}`, body: { schemas: [PATCH], Operations: [
      i % 2 ? { op: 'Replace', path: 'active', value: 'False' } : { op: 'replace', value: { active: false } },
    ] }, phase: 5, idp: i % 2 ? 'entra' : 'okta' });
  }
  // A delete (Entra sends DELETE; Okta never does).
  steps.push({ method: 'DELETE', path: '/Users/{user:5}', phase: 5, idp: 'entra' });
  return steps;
}

/** Replaces `{user:N}` / `{group:N}` placeholders (in paths and bodies) with ids Switchboard assigned. */
export function resolveRefs<T>(value: T, ids: Map<string, string>): T {
  const json = JSON.stringify(value).replace(/\{((?:user|group):\d+)\}/g, (_, ref: string) => {
    const id = ids.get(ref);
    if (!id) throw new Error(`sequence refers to ${ref} before it was created`);
    return id;
  });
  return JSON.parse(json) as T;
}
