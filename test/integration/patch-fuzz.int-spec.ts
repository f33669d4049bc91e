import fc from 'fast-check';
import { storeKinds } from '../utils/databases.js';
import { Harness } from '../utils/harness.js';

/**
 * Property test of PATCH (RFC 7644 §3.5.2) against a running Switchboard over HTTP: random paths
 * (attribute names in odd letter case, sub-attributes, core / Enterprise / configured extension URNs
 * (one with a dot in its last segment), valuePath filters, nested and unclosed brackets, odd and
 * control characters, huge paths) and random bodies (op names, value types, path-less values with
 * dotted and URN keys, malformed envelopes). Properties, for Users and Groups:
 * - never a 5xx;
 * - every 4xx is a SCIM Error (`schemas`, `status` as a string equal to the HTTP status) with the
 *   scimType its status calls for: 400 → one of RFC 7644 Table 9's PATCH keywords, 409 → uniqueness;
 * - a failed PATCH changes nothing: the resource reads back identical, version included;
 * - a successful one bumps the version by at most one.
 * Seeded (PATCH_FUZZ_SEED); a failure prints the seed and the shrunk request.
 */

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const ACME = 'urn:acme:scim:schemas:extension:hr:2.0:User';
const TIER = 'urn:acme:ext:v1.2';
const SEED = Number(process.env.PATCH_FUZZ_SEED ?? 20261129);
const RUNS = Number(process.env.PATCH_FUZZ_RUNS ?? 100);

const SCHEMAS = [
  {
    id: ACME, name: 'AcmeUser', resourceType: 'User',
    attributes: [
      { name: 'costCenter', type: 'string' },
      { name: 'badgeNumber', type: 'integer' },
      { name: 'hireDate', type: 'dateTime' },
      { name: 'code', type: 'string', mutability: 'immutable' },
      { name: 'clearance', type: 'string', mutability: 'readOnly' },
      { name: 'devices', type: 'complex', multiValued: true, subAttributes: [{ name: 'value', type: 'string', required: true }, { name: 'type', type: 'string' }, { name: 'primary', type: 'boolean' }] },
      { name: 'site', type: 'complex', subAttributes: [{ name: 'code', type: 'string', caseExact: true }, { name: 'name', type: 'string' }] },
    ],
  },
  { id: TIER, name: 'Tier', resourceType: 'User', attributes: [{ name: 'tier', type: 'string' }] },
];

/** RFC 7644 §3.12 Table 9 keywords a PATCH may answer 400 with. */
const PATCH_400 = new Set(['invalidFilter', 'invalidSyntax', 'invalidPath', 'invalidValue', 'noTarget', 'mutability', 'tooMany']);

const caseOf = (s: string) => fc.constantFrom(s, s.toLowerCase(), s.toUpperCase());
const ATTRS = [
  'userName', 'displayName', 'title', 'active', 'password', 'externalId', 'id', 'meta', 'groups', 'members', 'schemas',
  'name', 'emails', 'phoneNumbers', 'addresses', 'x509Certificates', 'roles', 'nickName', 'nope', 'not', 'and', '$ref',
];
const SUBS = ['value', 'type', 'primary', 'display', 'givenName', 'familyName', 'created', 'lastModified', 'formatted', 'code', 'nope', '$ref'];
const EXT_ATTRS: Record<string, string[]> = {
  [ENT]: ['employeeNumber', 'department', 'manager', 'costCenter', 'nope'],
  [ACME]: ['costCenter', 'badgeNumber', 'hireDate', 'code', 'clearance', 'devices', 'site', 'nope'],
  [TIER]: ['tier', 'nope'],
};
const URNS = [USER, GROUP, ENT, ACME, TIER, 'urn:acme:ext', 'urn:acme:ext:v1', 'urn:x', 'urn:', 'urn:ietf:params:scim:schemas:core:2.0'];

const literal = fc.oneof(
  fc.constantFrom('"work"', '"WORK"', '"x\\"y"', '"\\u00e9"', '"\\q"', 'true', 'False', 'null', '42', '01', '1e3', 'bare', '"', '"unterminated'),
  fc.string({ maxLength: 6 }).map(s => JSON.stringify(s)),
);
const compareOp = fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'pr', 'EQ', 'zz', '');
const leaf = fc.tuple(fc.constantFrom(...SUBS, ...ATTRS), compareOp, literal).map(([a, o, v]) => (o.toLowerCase() === 'pr' ? `${a} pr` : `${a} ${o} ${v}`));
const innerFilter = fc.oneof(
  leaf,
  fc.tuple(leaf, fc.constantFrom(' and ', ' or ', ' AND ', ' '), leaf).map(([a, j, b]) => `${a}${j}${b}`),
  leaf.map(l => `not (${l})`),
  leaf.map(l => `(${l}`),
  fc.tuple(fc.constantFrom(...SUBS), leaf).map(([a, l]) => `${a}[${l}]`),
  fc.constant(''),
);

const structuredPath = fc.tuple(
  fc.oneof({ weight: 3, arbitrary: fc.constant('') }, fc.constantFrom(...URNS).chain(u => caseOf(u)).map(u => `${u}:`)),
  fc.oneof(fc.constantFrom(...ATTRS), ...Object.values(EXT_ATTRS).map(a => fc.constantFrom(...a))).chain(caseOf),
  fc.option(innerFilter.map(f => `[${f}]`), { nil: '', freq: 2 }),
  fc.option(fc.constantFrom(...SUBS).map(s => `.${s}`), { nil: '', freq: 2 }),
).map(([u, a, f, s]) => `${u}${a}${f}${s}`);

const garbagePath = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(...URNS, `${ENT}`, `${TIER}`, `${ACME}:devices[value eq "a"][type eq "b"]`, 'emails[type eq "work"]]', 'emails[[type eq "work"]]', 'name..givenName', '.', ':', '[]', 'a b', 'title\u0000', '__proto__', 'constructor', `${ACME}:`, `${ACME}::costCenter`),
  fc.integer({ min: 1, max: 40 }).map(n => `emails${'['.repeat(n)}type eq "work"${']'.repeat(n)}`),
  fc.integer({ min: 1000, max: 6000 }).map(n => 'a'.repeat(n)),
  fc.integer({ min: 200, max: 1200 }).map(n => `emails[${Array.from({ length: n }, () => 'type eq "x"').join(' or ')}]`),
);

const path = fc.oneof({ weight: 4, arbitrary: structuredPath }, { weight: 2, arbitrary: garbagePath });

const scalar = fc.oneof(
  fc.string({ maxLength: 12 }), fc.constantFrom('True', 'false', '2024-01-01T00:00:00Z', 'not a date', '', 'x\u0000'),
  fc.integer(), fc.double({ noNaN: false }), fc.boolean(), fc.constant(null),
);
const element = fc.dictionary(fc.constantFrom(...SUBS, 'VALUE', 'Primary'), scalar, { maxKeys: 4 });
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: scalar },
  { weight: 2, arbitrary: element },
  { weight: 2, arbitrary: fc.array(element, { maxLength: 3 }) },
  { weight: 2, arbitrary: fc.dictionary(structuredPath, fc.oneof(scalar, element), { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.record({ [ACME]: fc.dictionary(fc.constantFrom(...EXT_ATTRS[ACME]!), fc.oneof(scalar, element, fc.array(element, { maxLength: 2 })), { maxKeys: 3 }) }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

const opName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('add', 'replace', 'remove', 'Add', 'Replace', 'Remove', 'REMOVE') },
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom('copy', 'move', 'test', ''), fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null)) },
);
const operation = fc.oneof(
  { weight: 12, arbitrary: fc.record({ op: opName, path: fc.option(path, { nil: undefined, freq: 4 }), value: fc.option(value, { nil: undefined, freq: 5 }) }, { requiredKeys: ['op'] }) },
  { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.string({ maxLength: 5 }), fc.integer(), fc.array(fc.string(), { maxLength: 2 }), fc.record({ op: opName, path: fc.integer() })) },
);
/** Operations a server must accept (so the property also covers successful writes and their version bump). */
const validOperation = fc.oneof(
  fc.string({ maxLength: 10 }).map(v => ({ op: 'replace', path: 'title', value: v })),
  fc.constantFrom('work', 'home', 'other').map(t => ({ op: 'add', path: 'emails', value: [{ value: `${t}@fuzz.example`, type: t }] })),
  fc.string({ minLength: 1, maxLength: 8 }).map(v => ({ op: 'Replace', path: 'emails[type eq "work"].value', value: `${v}@w.example` })),
  fc.boolean().map(b => ({ op: 'replace', path: 'emails[type eq "home"].primary', value: b ? 'True' : 'False' })),
  fc.constant({ op: 'remove', path: 'name.givenName' }),
  fc.string({ maxLength: 8 }).map(v => ({ op: 'replace', path: `${ACME}:costCenter`, value: v })),
  fc.integer().map(v => ({ op: 'add', value: { [`${ACME}:badgeNumber`]: v, 'name.familyName': 'Fz' } })),
  fc.string({ minLength: 1, maxLength: 6 }).map(v => ({ op: 'add', path: `${ACME.toUpperCase()}:devices`, value: [{ value: v, type: 'phone' }] })),
  fc.constantFrom('laptop', 'phone').map(t => ({ op: 'remove', path: `${ACME}:devices[type eq "${t}" and primary ne true]` })),
  fc.constantFrom('gold', 'silver').map(t => ({ op: 'add', path: TIER, value: { tier: t } })),
  fc.string({ maxLength: 8 }).map(v => ({ op: 'replace', path: `${ENT}:department`, value: v })),
  fc.constant({ op: 'replace', path: `${ENT}:manager`, value: { value: 'm-2', displayName: 'ignored' } }),
  // Valid on Groups too (a Group PATCH answers 204).
  fc.string({ minLength: 1, maxLength: 6 }).map(v => ({ op: 'replace', path: 'displayName', value: `fuzz-${v}` })),
  fc.string({ minLength: 1, maxLength: 6 }).map(v => ({ op: 'replace', path: 'externalId', value: v })),
);

/** Operations a server must refuse with 400 mutability: readOnly targets and a changed immutable value. */
const refusedOperation = fc.tuple(
  fc.constantFrom('add', 'replace', 'Remove'),
  fc.constantFrom('id', 'ID', 'meta', 'meta.created', 'groups', `${USER}:id`, `${ENT}:manager.displayName`, `${ACME}:clearance`, `${ACME.toUpperCase()}:CLEARANCE`),
).map(([op, p]) => ({ op, path: p, value: 'x' }));
const immutableChange = fc.string({ minLength: 1, maxLength: 4 }).map(v => ({ op: 'replace', path: `${ACME}:code`, value: `changed-${v}` }));

const body = fc.oneof(
  { weight: 2, arbitrary: fc.oneof(refusedOperation, immutableChange).map(o => ({ schemas: [PATCH_OP], Operations: [o] })) },
  { weight: 5, arbitrary: fc.array(validOperation, { minLength: 1, maxLength: 3 }).map(Operations => ({ schemas: [PATCH_OP], Operations })) },
  { weight: 6, arbitrary: operation.map(o => ({ schemas: [PATCH_OP], Operations: [o] })) },
  { weight: 4, arbitrary: fc.array(fc.oneof(validOperation, operation), { minLength: 1, maxLength: 3 }).map(Operations => ({ schemas: [PATCH_OP], Operations })) },
  { weight: 1, arbitrary: fc.oneof(
    fc.array(operation, { maxLength: 2 }).map(Operations => ({ Operations })),
    fc.array(operation, { maxLength: 2 }).map(operations => ({ schemas: [PATCH_OP.toUpperCase()], operations })),
    fc.record({ schemas: fc.constant([PATCH_OP]), Operations: fc.oneof(fc.constant([]), operation, fc.string()) }),
    fc.jsonValue({ maxDepth: 2 }),
  ) },
);

describe.each(storeKinds())('PATCH fuzz (%s)', (db) => {
  let h: Harness;
  let userIds: string[];
  let groupId: string;

  beforeAll(async () => {
    h = await Harness.start({ db, extraConfig: { schemas: SCHEMAS } });
    userIds = [];
    for (let i = 0; i < 3; i++) {
      const r = await h.scim('POST', '/Users', {
        schemas: [USER, ENT, ACME], userName: `fuzz-${i}`, displayName: `Fuzz ${i}`, active: true, name: { givenName: 'F', familyName: `Z${i}` },
        emails: [{ value: `f${i}@work.example`, type: 'work', primary: true }, { value: `f${i}@home.example`, type: 'home' }],
        [ENT]: { employeeNumber: `${i}`, department: 'Eng', manager: { value: 'm-1' } },
        [ACME]: { costCenter: 'CC', badgeNumber: i, code: `C${i}`, devices: [{ value: `D${i}`, type: 'laptop', primary: true }], site: { code: 'BER' } },
      });
      expect(r.status).toBe(201);
      userIds.push(r.body.id);
    }
    const g = await h.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'fuzz-group', members: [{ value: userIds[0] }] });
    expect(g.status).toBe(201);
    groupId = g.body.id;
  });

  afterAll(async () => {
    await h?.close();
  });

  const version = (r: { body: any }) => Number(String(r.body.meta.version).match(/\d+/)![0]);

  it('should never answer 5xx, answer every 4xx with a SCIM Error and its scimType, and leave a failed PATCH without effect', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(body, fc.nat({ max: 9 }), async (request, pick) => {
        const endpoint = pick === 9 ? `/Groups/${groupId}` : `/Users/${userIds[pick % userIds.length]}`;
        const before = await h.scim('GET', endpoint);
        expect(before.status).toBe(200);
        const r = await h.scim('PATCH', endpoint, request);
        const outcome = r.status >= 400 ? `${r.status} ${r.body?.scimType ?? ''}` : String(r.status);
        seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
        expect(r.status).toBeLessThan(500);
        const after = await h.scim('GET', endpoint);
        expect(after.status).toBe(200);
        if (r.status >= 400) {
          expect(r.headers['content-type']).toMatch(/^application\/scim\+json/);
          expect(r.body.schemas).toEqual([ERROR]);
          expect(r.body.status).toBe(String(r.status));
          expect(typeof r.body.detail).toBe('string');
          if (r.status === 400) expect(PATCH_400).toContain(r.body.scimType);
          else if (r.status === 409) expect(r.body.scimType).toBe('uniqueness');
          else expect([404, 413, 415]).toContain(r.status);
          expect(after.body).toEqual(before.body);
        } else {
          expect([200, 204]).toContain(r.status);
          expect(version(after) - version(before)).toBeGreaterThanOrEqual(0);
          expect(version(after) - version(before)).toBeLessThanOrEqual(1);
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: false },
    );
    // The generator must reach success and each kind of refusal, or the property says little.
    const outcomes = [...seen.keys()].join(', ');
    expect(outcomes).toMatch(/\b200\b/);
    for (const kind of ['invalidPath', 'invalidSyntax', 'invalidValue', 'mutability']) expect(outcomes).toContain(kind);
    console.log(`PATCH fuzz (${db}) outcomes: ${[...seen].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  }, 120_000);
});
