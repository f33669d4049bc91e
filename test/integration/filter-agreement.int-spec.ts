import fc from 'fast-check';
import { formatFilter, type AttrPath, type CompValue, type CompareOp, type Filter } from '../../src/scim/filter/filter.ast.js';
import { compileFilter as compileInMemory } from '../../src/scim/filter/filter.evaluator.js';
import { parseFilter } from '../../src/scim/filter/filter.parser.js';
import { SchemaRegistry } from '../../src/scim/schema/schema-registry.js';
import { ScimError } from '../../src/scim/scim.error.js';
import { storeKinds } from '../utils/databases.js';
import { Harness } from '../utils/harness.js';
import { withMemberDisplay } from '../utils/membership-view.js';

/**
 * Property test: the SQL filter compiler (resource_attr, src/scim/query/filter-sql.ts) and the
 * in-memory evaluator (evaluateFilter) agree on every filter. Random Users (Unicode that folds
 * oddly, emails with types and primary, booleans, the Enterprise extension) go through the real
 * write path; random filters (every operator, and/or/not, valuePaths, pr, null, meta dateTimes with
 * offsets, invalid combinations) are asked over HTTP and the ids must equal what evaluateFilter picks
 * from the same resources as served. Groups with random members (users and nested groups) make User
 * `groups` and Group `members` (value, display, type, valuePaths) part of it, read from group_member;
 * a member's `display` is its current displayName, else its userName (test/utils/membership-view.ts).
 * No filter may cause a 5xx. Seeded: a failure prints its seed and the shrunk filter.
 */

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const SEED = Number(process.env.FILTER_FUZZ_SEED ?? 20261129);
const RESOURCES = 60;
const FILTERS = Number(process.env.FILTER_FUZZ_RUNS ?? 200);
const GROUPS = 10;

/** Characters whose folding, composition or UTF-16 order differs from the naive one. */
const PIECES = [
  'ß', 'ss', 'SS', 'ẞ', 'İ', 'i̇', 'i', 'I', 'ı', 'Ä', 'ä', 'A\u0308', 'a\u0308', 'é', 'e\u0301', 'ς', 'σ', 'Σ', 'ﬁ', 'fi',
  'x', 'X', 'ab', 'AB', '😀', '\uE000', '\uFFFD', ' ', '@', '.', 'Straße', 'STRASSE', '0', '1',
];
const piece = fc.constantFrom(...PIECES);
const text = fc.array(piece, { minLength: 0, maxLength: 3 }).map((p) => p.join(''));
const nonEmpty = fc.array(piece, { minLength: 1, maxLength: 3 }).map((p) => p.join(''));
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });

const email = fc.record(
  { value: opt(fc.tuple(text, fc.constantFrom('@x.com', '@X.COM', '@ß.de'), ).map(([a, b]) => a + b)), type: opt(fc.constantFrom('work', 'WORK', 'home', 'other', '')), primary: opt(fc.boolean()) },
  { requiredKeys: [] },
);

const userArb = fc.record(
  {
    displayName: opt(text),
    nickName: opt(text),
    title: opt(text),
    externalId: opt(nonEmpty),
    active: opt(fc.boolean()),
    name: opt(fc.record({ givenName: opt(text), familyName: opt(text) }, { requiredKeys: [] })),
    emails: opt(fc.array(email, { maxLength: 3 })),
    phoneNumbers: opt(fc.array(fc.record({ value: text, type: opt(fc.constantFrom('work', 'mobile')) }, { requiredKeys: ['value'] }), { maxLength: 2 })),
    enterprise: opt(fc.record({
      employeeNumber: opt(fc.oneof(nonEmpty, fc.constantFrom('007', '42', '1e3'))),
      department: opt(text),
      manager: opt(fc.record({ value: opt(nonEmpty), displayName: opt(text) }, { requiredKeys: [] })),
    }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
);

type GeneratedUser = typeof userArb extends fc.Arbitrary<infer T> ? T : never;

function toBody(u: GeneratedUser, i: number, namePart: string): Record<string, unknown> {
  const { enterprise, ...rest } = u as Record<string, unknown> & { enterprise?: Record<string, unknown> };
  const body: Record<string, unknown> = { schemas: enterprise ? [USER, ENT] : [USER], userName: `${namePart}#${i}`, ...rest };
  if (enterprise) body[ENT] = enterprise;
  return body;
}

type PathSpec = { path: AttrPath; kind: 'string' | 'boolean' | 'dateTime' | 'complex' | 'invalid' };
const p = (attr: string, sub?: string, uri?: string): AttrPath => ({ ...(uri ? { uri } : {}), attr, ...(sub ? { sub } : {}) });

/** Top-level paths, with odd letter case, URN-qualified core names and a few that are not attributes. */
const PATHS: PathSpec[] = [
  { path: p('userName'), kind: 'string' }, { path: p('USERNAME'), kind: 'string' }, { path: p('userName', undefined, USER), kind: 'string' },
  { path: p('displayName'), kind: 'string' }, { path: p('nickName'), kind: 'string' }, { path: p('title'), kind: 'string' },
  { path: p('externalId'), kind: 'string' }, { path: p('id'), kind: 'string' },
  { path: p('name', 'givenName'), kind: 'string' }, { path: p('name', 'FamilyName'), kind: 'string' }, { path: p('name'), kind: 'complex' },
  { path: p('emails'), kind: 'complex' }, { path: p('emails', 'value'), kind: 'string' }, { path: p('emails', 'type'), kind: 'string' },
  { path: p('emails', 'primary'), kind: 'boolean' }, { path: p('phoneNumbers', 'value'), kind: 'string' }, { path: p('phoneNumbers'), kind: 'complex' },
  { path: p('active'), kind: 'boolean' },
  { path: p('meta', 'created'), kind: 'dateTime' }, { path: p('meta', 'lastModified'), kind: 'dateTime' }, { path: p('meta', 'resourceType'), kind: 'string' },
  { path: p('meta', 'version'), kind: 'string' }, { path: p('meta'), kind: 'complex' },
  { path: p('employeeNumber', undefined, ENT), kind: 'string' }, { path: p('department', undefined, ENT), kind: 'string' },
  { path: p('manager', undefined, ENT), kind: 'complex' }, { path: p('manager', 'value', ENT), kind: 'string' },
  { path: p('manager', 'displayName', ENT), kind: 'string' },
  { path: { uri: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0', attr: 'User' }, kind: 'complex' },
  { path: p('noSuchAttribute'), kind: 'invalid' }, { path: p('name', 'nope'), kind: 'invalid' },
  { path: p('groups'), kind: 'string' }, { path: p('groups', 'value'), kind: 'string' }, { path: p('groups', 'display'), kind: 'string' },
  { path: p('groups', 'type'), kind: 'string' }, { path: p('groups', 'nope'), kind: 'invalid' },
];

/** Group paths: Group `members` is read from group_member, the rest from resource_attr. */
const GROUP_PATHS: PathSpec[] = [
  { path: p('displayName'), kind: 'string' }, { path: p('externalId'), kind: 'string' }, { path: p('id'), kind: 'string' },
  { path: p('members'), kind: 'string' }, { path: p('members', 'value'), kind: 'string' }, { path: p('MEMBERS', 'Display'), kind: 'string' },
  { path: p('members', 'display'), kind: 'string' }, { path: p('members', 'type'), kind: 'string' },
  { path: p('meta', 'resourceType'), kind: 'string' }, { path: p('meta', 'created'), kind: 'dateTime' }, { path: p('userName'), kind: 'invalid' },
];
const GROUP_VALUE_PATHS: Array<{ path: AttrPath; subs: PathSpec[] }> = [
  { path: p('members'), subs: [{ path: p('value'), kind: 'string' }, { path: p('display'), kind: 'string' }, { path: p('type'), kind: 'string' }] },
];

/** valuePath parents and their sub-attributes. */
const VALUE_PATHS: Array<{ path: AttrPath; subs: PathSpec[] }> = [
  { path: p('emails'), subs: [{ path: p('value'), kind: 'string' }, { path: p('type'), kind: 'string' }, { path: p('primary'), kind: 'boolean' }, { path: p('display'), kind: 'string' }] },
  { path: p('phoneNumbers'), subs: [{ path: p('value'), kind: 'string' }, { path: p('type'), kind: 'string' }] },
  { path: p('name'), subs: [{ path: p('givenName'), kind: 'string' }, { path: p('familyName'), kind: 'string' }] },
  { path: p('manager', undefined, ENT), subs: [{ path: p('value'), kind: 'string' }, { path: p('displayName'), kind: 'string' }] },
  { path: p('meta'), subs: [{ path: p('created'), kind: 'dateTime' }, { path: p('version'), kind: 'string' }, { path: p('resourceType'), kind: 'string' }] },
  { path: p('groups'), subs: [{ path: p('value'), kind: 'string' }, { path: p('display'), kind: 'string' }, { path: p('type'), kind: 'string' }] },
];

const STATS = { valid: 0, invalid: 0, selective: 0 };
afterAll(() => { if (process.env.FILTER_FUZZ_STATS) console.log(STATS); });
const OPS: CompareOp[] = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];

function dateLiteral(instants: number[]): fc.Arbitrary<string> {
  const offsets = ['Z', '+00:00', '+05:30', '-08:00', '+14:00', '-0330'];
  return fc.tuple(fc.constantFrom(...instants), fc.integer({ min: -1500, max: 1500 }), fc.constantFrom(...offsets), fc.boolean()).map(([t, d, off, millis]) => {
    const ms = t + (millis ? d : Math.round(d / 1000) * 1000);
    const minutes = off === 'Z' ? 0 : (off.startsWith('-') ? -1 : 1) * (Number(off.slice(1, 3)) * 60 + Number(off.slice(-2)));
    const local = new Date(ms + minutes * 60_000).toISOString().replace('Z', '');
    return `${millis ? local : local.slice(0, 19)}${off}`;
  });
}

function valueFor(kind: PathSpec['kind'], known: string[], instants: number[]): fc.Arbitrary<CompValue> {
  const odd: fc.Arbitrary<CompValue> = fc.constantFrom(null, true, 42, 'not a date', '');
  const strings = fc.oneof(text, fc.constantFrom(...known));
  switch (kind) {
    case 'boolean': return fc.oneof({ weight: 5, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.constantFrom<CompValue>('True', 'yes', null) });
    case 'dateTime': return fc.oneof({ weight: 5, arbitrary: dateLiteral(instants) }, { weight: 1, arbitrary: fc.constantFrom<CompValue>('2026-11-29', '9999-12-31T23:59:59Z', 'x', null) });
    default: return fc.oneof({ weight: 6, arbitrary: strings }, { weight: 1, arbitrary: odd });
  }
}

function filterArb(paths: PathSpec[], known: string[], instants: number[], depth: number, valuePaths: boolean, vps = VALUE_PATHS): fc.Arbitrary<Filter> {
  const leaf: fc.Arbitrary<Filter> = fc.constantFrom(...paths).chain((spec) => fc.oneof(
    { weight: 1, arbitrary: fc.constant<Filter>({ kind: 'present', path: spec.path }) },
    { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...OPS), valueFor(spec.kind, known, instants)).map(([op, value]): Filter => ({ kind: 'compare', path: spec.path, op, value })) },
  ));
  const options: Array<fc.WeightedArbitrary<Filter>> = [{ weight: 6, arbitrary: leaf }];
  if (valuePaths) {
    options.push({
      weight: 2,
      arbitrary: fc.constantFrom(...vps).chain((vp) => filterArb(vp.subs, known, instants, 1, false).map((inner): Filter => ({ kind: 'valuePath', path: vp.path, filter: inner }))),
    });
  }
  if (depth > 0) {
    const sub = filterArb(paths, known, instants, depth - 1, valuePaths, vps);
    options.push(
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom<'and' | 'or'>('and', 'or'), sub, sub).map(([kind, left, right]): Filter => ({ kind, left, right })) },
      { weight: 1, arbitrary: sub.map((f): Filter => ({ kind: 'not', filter: f })) },
    );
  }
  return fc.oneof(...options);
}

describe.each(storeKinds())('SQL filters agree with evaluateFilter (%s)', (db) => {
  const registry = new SchemaRegistry();
  let h: Harness;
  const served: Array<Record<string, unknown>> = [];
  const groups: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    h = await Harness.start({ db });
    const users = fc.sample(userArb, { numRuns: RESOURCES, seed: SEED });
    const names = fc.sample(nonEmpty, { numRuns: RESOURCES, seed: SEED + 1 });
    for (let i = 0; i < users.length; i++) {
      const res = await h.scim('POST', '/Users', toBody(users[i]!, i, names[i]!));
      if (res.status !== 201) throw new Error(`POST /Users ${res.status}: ${JSON.stringify(res.body)} for ${JSON.stringify(toBody(users[i]!, i, names[i]!))}`);
      served.push(res.body);
    }
    // Groups with random members: users and earlier groups (nested), some empty; names that fold oddly.
    const picks = fc.sample(fc.tuple(nonEmpty, fc.subarray(served.map((u) => u.id as string), { maxLength: 12 }), fc.boolean()), { numRuns: GROUPS, seed: SEED + 2 });
    for (const [i, [name, members, nested]] of picks.entries()) {
      const inner = nested && groups.length ? [{ value: groups[i % groups.length]!.id as string, type: 'Group' }] : [];
      const res = await h.scim('POST', '/Groups', { schemas: [GROUP], displayName: `${name} ${i}`, members: [...members.map((value) => ({ value })), ...inner] });
      if (res.status !== 201) throw new Error(`POST /Groups ${res.status}: ${JSON.stringify(res.body)}`);
      groups.push(res.body);
    }
    // As served now: users carry their groups, group members their display.
    served.splice(0, served.length, ...await listAll('/Users'));
    groups.splice(0, groups.length, ...withMemberDisplay(await listAll('/Groups'), [...served, ...await listAll('/Groups')]));
  }, 60_000);

  async function listAll(endpoint: string): Promise<Array<Record<string, unknown>>> {
    const res = await h.scim('GET', `${endpoint}?count=1000`);
    return res.body.Resources as Array<Record<string, unknown>>;
  }

  afterAll(async () => {
    await h?.close();
  });

  /** Values the resources hold (so eq/sw hit), plus their ids and ETags. */
  function known(): string[] {
    const out = new Set<string>();
    const walk = (v: unknown) => {
      if (typeof v === 'string' && v.length < 60) out.add(v);
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    served.slice(0, 20).forEach(walk);
    groups.forEach((g) => { walk(g.displayName); walk(g.id); (g.members as Array<Record<string, unknown>> | undefined)?.slice(0, 3).forEach(walk); });
    out.add('direct'); out.add('User'); out.add('group');
    return [...out];
  }

  async function check(filter: Filter, endpoint: '/Users' | '/Groups' = '/Users'): Promise<void> {
    const textFilter = formatFilter(filter);
    const resources = endpoint === '/Users' ? served : groups;
    let expected: string[] | undefined;
    try {
      const predicate = compileInMemory(parseFilter(textFilter), registry, endpoint === '/Users' ? 'User' : 'Group');
      expected = resources.filter((r) => predicate(r)).map((r) => r.id as string).sort();
    } catch (e) {
      if (!(e instanceof ScimError)) throw e;
    }
    const res = await h.scim('GET', `${endpoint}?filter=${encodeURIComponent(textFilter)}&count=1000`);
    if (expected === undefined) {
      STATS.invalid++;
      expect({ filter: textFilter, status: res.status }).toEqual({ filter: textFilter, status: 400 });
      return;
    }
    expect({ filter: textFilter, status: res.status }).toEqual({ filter: textFilter, status: 200 });
    STATS.valid++; if (expected.length > 0 && expected.length < resources.length) STATS.selective++;
    const got = (res.body.Resources as Array<{ id: string }>).map((r) => r.id).sort();
    expect({ filter: textFilter, ids: got }).toEqual({ filter: textFilter, ids: expected });
  }

  it('returns exactly the resources evaluateFilter selects', async () => {
    const instants = served.map((r) => Date.parse((r.meta as { created: string }).created));
    const arb = filterArb(PATHS, known(), instants, 2, true);
    await fc.assert(fc.asyncProperty(arb, (f) => check(f)), { numRuns: FILTERS, seed: SEED, endOnFailure: false });
  }, 60_000);

  it('returns exactly the groups evaluateFilter selects (members from group_member)', async () => {
    const instants = groups.map((r) => Date.parse((r.meta as { created: string }).created));
    const arb = filterArb(GROUP_PATHS, known(), instants, 2, true, GROUP_VALUE_PATHS);
    await fc.assert(fc.asyncProperty(arb, (f) => check(f, '/Groups')), { numRuns: FILTERS, seed: SEED + 3, endOnFailure: false });
  }, 60_000);

  it('never answers a random filter text with a 5xx', async () => {
    const tokens = fc.constantFrom('userName', 'emails[', ']', '(', ')', ' eq ', ' co ', ' gt ', ' pr', ' and ', ' or ', 'not ', '"ß"', '"', '\\u0000', 'null', 'true', '1e999', '.', ':', `${ENT}:`, 'meta.created', ' ', 'İ', '😀');
    const garbage = fc.oneof(fc.string({ maxLength: 40 }), fc.array(tokens, { maxLength: 12 }).map((t) => t.join('')));
    await fc.assert(fc.asyncProperty(garbage, async (f) => {
      const res = await h.scim('GET', `/Users?filter=${encodeURIComponent(f)}&count=5`);
      expect({ filter: f, status: res.status < 500 }).toEqual({ filter: f, status: true });
    }), { numRuns: 100, seed: SEED });
  }, 60_000);
});
