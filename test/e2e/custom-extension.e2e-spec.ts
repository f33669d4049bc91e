import { ResourceService } from '../../src/identity/resource.service.js';
import { storeKinds } from '../utils/databases.js';
import { Harness } from '../utils/harness.js';

/**
 * Custom extension schemas declared in switchboard.yaml (RFC 7643 §3.3, §7): served by discovery,
 * validated on POST/PUT/PATCH, filtered and sorted by the database, projected and patched like the
 * Enterprise extension. `urn:acme:ext:v1.2` has a dot in its last segment, so a path under it can
 * only be split by matching registered URNs. Also RFC 7644 §3.5.1: readOnly values in a PUT body
 * (Enterprise `manager.displayName`, User `groups`, `meta`, an extension's readOnly attribute) are
 * ignored and stay as the server has them.
 */

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ACME = 'urn:acme:scim:schemas:extension:hr:2.0:User';
const TIER = 'urn:acme:ext:v1.2';
const ACME_GROUP = 'urn:acme:scim:schemas:extension:hr:2.0:Group';

const SCHEMAS = [
  {
    id: ACME,
    name: 'AcmeUser',
    description: 'Acme HR data',
    resourceType: 'User',
    attributes: [
      { name: 'costCenter', type: 'string', description: 'Cost center code' },
      { name: 'badgeNumber', type: 'integer' },
      { name: 'hireDate', type: 'dateTime' },
      { name: 'contractor', type: 'boolean' },
      { name: 'fte', type: 'decimal' },
      { name: 'employeeCode', type: 'string', caseExact: true, mutability: 'immutable' },
      { name: 'clearance', type: 'string', mutability: 'readOnly' },
      { name: 'pin', type: 'string', mutability: 'writeOnly', returned: 'never' },
      { name: 'nickTag', type: 'string', returned: 'request' },
      {
        name: 'devices', type: 'complex', multiValued: true,
        subAttributes: [
          { name: 'value', type: 'string', required: true },
          { name: 'type', type: 'string', canonicalValues: ['laptop', 'phone'] },
          { name: 'primary', type: 'boolean' },
          { name: 'assetTag', type: 'string', mutability: 'readOnly' },
        ],
      },
      {
        name: 'site', type: 'complex',
        subAttributes: [
          { name: 'code', type: 'string', caseExact: true },
          { name: 'name', type: 'string' },
          { name: 'homepage', type: 'reference', referenceTypes: ['external'] },
        ],
      },
    ],
  },
  { id: TIER, name: 'Tier', resourceType: 'User', attributes: [{ name: 'tier', type: 'string', canonicalValues: ['gold', 'silver'] }] },
  { id: ACME_GROUP, name: 'AcmeGroup', resourceType: 'Group', required: true, attributes: [{ name: 'owner', type: 'string', required: true }] },
];

const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

describe.each(storeKinds())('custom extension schemas (%s)', (db) => {
  let h: Harness;
  let seq = 0;

  beforeAll(async () => {
    h = await Harness.start({ db, extraConfig: { schemas: SCHEMAS } });
  });

  afterAll(async () => {
    await h?.close();
  });

  const uniq = (p: string) => `${p}-${++seq}-${Date.now().toString(36)}`;

  async function createUser(ext: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<any> {
    const r = await h.scim('POST', '/Users', { schemas: [USER, ACME], userName: uniq('u'), [ACME]: ext, ...extra });
    expect(r.status).toBe(201);
    return r.body;
  }

  const list = async (query: string) => {
    const r = await h.scim('GET', `/Users?${query}`);
    expect(r.status).toBe(200);
    return r.body;
  };
  const ids = async (filter: string) => (await list(`filter=${encodeURIComponent(filter)}&count=1000`)).Resources.map((u: any) => u.id);

  describe('discovery', () => {
    it('should serve each custom schema with every characteristic under /Schemas and /Schemas/{urn}', async () => {
      const all = await h.scim('GET', '/Schemas');
      expect(all.body.Resources.map((s: any) => s.id)).toEqual(expect.arrayContaining([USER, ENT, GROUP, ACME, TIER, ACME_GROUP]));
      const one = await h.scim('GET', `/Schemas/${ACME.toUpperCase()}`);
      expect(one.status).toBe(200);
      expect(one.body.id).toBe(ACME);
      expect(one.body.description).toBe('Acme HR data');
      expect(one.body.meta.location).toMatch(new RegExp(`/Schemas/${ACME}$`));
      const byName = Object.fromEntries(one.body.attributes.map((a: any) => [a.name, a]));
      expect(byName.costCenter).toEqual({
        name: 'costCenter', type: 'string', multiValued: false, description: 'Cost center code', required: false,
        caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none',
      });
      expect(byName.pin).toMatchObject({ mutability: 'writeOnly', returned: 'never' });
      expect(byName.devices).toMatchObject({ type: 'complex', multiValued: true });
      expect(byName.devices.subAttributes.map((s: any) => [s.name, s.required, s.mutability])).toEqual([
        ['value', true, 'readWrite'], ['type', false, 'readWrite'], ['primary', false, 'readWrite'], ['assetTag', false, 'readOnly'],
      ]);
      expect(byName.site.subAttributes[2]).toMatchObject({ name: 'homepage', type: 'reference', referenceTypes: ['external'] });
    });

    it('should list the extensions in the schemaExtensions of the resource types they extend', async () => {
      const user = await h.scim('GET', '/ResourceTypes/User');
      expect(user.body.schemaExtensions).toEqual([
        { schema: ENT, required: false }, { schema: ACME, required: false }, { schema: TIER, required: false },
      ]);
      const group = await h.scim('GET', '/ResourceTypes/Group');
      expect(group.body.schemaExtensions).toEqual([{ schema: ACME_GROUP, required: true }]);
    });
  });

  describe('POST and PUT', () => {
    it('should store extension values in the schema spelling, list the extension in schemas, and drop readOnly and writeOnly values from the response', async () => {
      const r = await h.scim('POST', '/Users', {
        schemas: [USER, ACME.toUpperCase()],
        userName: uniq('post'),
        [ACME.toUpperCase()]: { COSTCENTER: 'CC-1', badgeNumber: 7, hireDate: '2024-02-01T09:00:00+01:00', contractor: 'True', fte: 0.5, clearance: 'top', pin: '1234', nickTag: 'nt', devices: [{ value: 'D1', type: 'laptop', assetTag: 'A-1' }] },
      });
      expect(r.status).toBe(201);
      expect(r.body.schemas).toEqual([USER, ACME]);
      expect(r.body[ACME]).toEqual({ costCenter: 'CC-1', badgeNumber: 7, hireDate: '2024-02-01T09:00:00+01:00', contractor: true, fte: 0.5, devices: [{ value: 'D1', type: 'laptop' }] });
      const withRequest = await h.scim('GET', `/Users/${r.body.id}?attributes=${ACME}:nickTag,${ACME}:pin`);
      expect(withRequest.body[ACME]).toEqual({ nickTag: 'nt' });
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['an integer as text', { badgeNumber: '7' }, `${ACME}:badgeNumber must be an integer`],
      ['a decimal as text', { fte: 'half' }, 'must be a number'],
      ['a malformed dateTime', { hireDate: 'yesterday' }, 'must be an xsd:dateTime'],
      ['a boolean "yes"', { contractor: 'yes' }, 'must be a boolean'],
      ['a string as an array', { costCenter: ['a'] }, 'must be a string'],
      ['a multi-valued attribute as an object', { devices: { value: 'D1' } }, 'is multi-valued'],
      ['a complex value as a string', { site: 5 }, 'must be an object'],
      ['a missing required sub-attribute', { devices: [{ type: 'phone' }] }, `${ACME}:devices.value is required`],
    ])('should answer 400 invalidValue to a POST with %s', async (_name, ext, detail) => {
      const r = await h.scim('POST', '/Users', { schemas: [USER, ACME], userName: uniq('bad'), [ACME]: ext });
      expect(r.status).toBe(400);
      expect(r.body.scimType).toBe('invalidValue');
      expect(r.body.detail).toContain(detail);
    });

    it('should answer 400 invalidValue to an extension that is not an object', async () => {
      const r = await h.scim('POST', '/Users', { schemas: [USER, ACME], userName: uniq('bad'), [ACME]: 'CC-1' });
      expect([r.status, r.body.scimType]).toEqual([400, 'invalidValue']);
    });

    it('should require a required extension and its required attributes (Group)', async () => {
      const none = await h.scim('POST', '/Groups', { schemas: [GROUP], displayName: uniq('g') });
      expect([none.status, none.body.scimType]).toEqual([400, 'invalidValue']);
      expect(none.body.detail).toContain(`${ACME_GROUP} is a required extension of Group`);
      const empty = await h.scim('POST', '/Groups', { schemas: [GROUP, ACME_GROUP], displayName: uniq('g'), [ACME_GROUP]: { owner: '' } });
      expect([empty.status, empty.body.scimType]).toEqual([400, 'invalidValue']);
      const ok = await h.scim('POST', '/Groups', { schemas: [GROUP, ACME_GROUP], displayName: uniq('g'), [ACME_GROUP]: { owner: 'ops' } });
      expect(ok.status).toBe(201);
      expect(ok.body.schemas).toEqual([GROUP, ACME_GROUP]);
      const removed = await h.scim('PATCH', `/Groups/${ok.body.id}`, patch({ op: 'remove', path: `${ACME_GROUP}:owner` }));
      expect([removed.status, removed.body.scimType]).toEqual([400, 'invalidValue']);
    });

    it('should keep immutable values once assigned (PUT)', async () => {
      const u = await createUser({ employeeCode: 'E1' });
      const same = await h.scim('PUT', `/Users/${u.id}`, { schemas: [USER, ACME], userName: u.userName, [ACME]: { employeeCode: 'E1', costCenter: 'x' } });
      expect(same.status).toBe(200);
      const changed = await h.scim('PUT', `/Users/${u.id}`, { schemas: [USER, ACME], userName: u.userName, [ACME]: { employeeCode: 'E2' } });
      expect([changed.status, changed.body.scimType]).toEqual([400, 'mutability']);
    });
  });

  describe('readOnly values in PUT and POST (RFC 7644 §3.5.1)', () => {
    /** A server-side write (as HR or an admin action would make) that sets values a SCIM client cannot. */
    async function serverSets(id: string, mutate: (doc: Record<string, any>) => void): Promise<void> {
      await h.get(ResourceService).update('User', id, { origin: 'admin:test', correlationId: 'c-readonly' }, (current) => {
        const doc = structuredClone(current.doc) as Record<string, any>;
        mutate(doc);
        return { doc };
      });
    }

    it('should ignore readOnly values on POST', async () => {
      const r = await h.scim('POST', '/Users', {
        schemas: [USER, ENT, ACME], userName: uniq('ro'), id: 'client-id', meta: { created: '2001-01-01T00:00:00Z' },
        groups: [{ value: '5bd5c4b4-4f0b-4bd6-9b43-3c3bfe2f6b0a' }],
        [ENT]: { manager: { value: 'm-1', displayName: 'Client Says' } },
        [ACME]: { clearance: 'top', devices: [{ value: 'D1', assetTag: 'A-1' }] },
      });
      expect(r.status).toBe(201);
      expect(r.body.id).not.toBe('client-id');
      expect(r.body.meta.created).not.toBe('2001-01-01T00:00:00Z');
      expect(r.body.groups).toEqual([]);
      expect(r.body[ENT]).toEqual({ manager: { value: 'm-1' } });
      expect(r.body[ACME]).toEqual({ devices: [{ value: 'D1' }] });
    });

    it('should keep readOnly values as the server has them when a PUT sends others or omits them', async () => {
      const u = await createUser({ costCenter: 'CC-1', devices: [{ value: 'D1', type: 'laptop' }, { value: 'D2' }] }, { [ENT]: { manager: { value: 'm-1' }, department: 'Eng' } });
      await serverSets(u.id, (doc) => {
        doc[ENT].manager.displayName = 'Server Name';
        doc[ACME].clearance = 'secret';
        doc[ACME].devices[0].assetTag = 'A-1';
      });
      const before = await h.scim('GET', `/Users/${u.id}`);
      const put = await h.scim('PUT', `/Users/${u.id}`, {
        schemas: [USER, ENT, ACME], userName: u.userName, id: u.id, meta: { version: 'W/"999"' }, groups: [{ value: 'x' }],
        [ENT]: { manager: { value: 'm-1', displayName: 'Client Name' }, department: 'Sales' },
        [ACME]: { costCenter: 'CC-2', clearance: 'none', devices: [{ value: 'D1', type: 'laptop', assetTag: 'FORGED' }, { value: 'D3', assetTag: 'NEW' }] },
      });
      expect(put.status).toBe(200);
      expect(put.body[ENT]).toEqual({ manager: { value: 'm-1', displayName: 'Server Name' }, department: 'Sales' });
      // D1 is unchanged apart from its readOnly tag, so it keeps the stored one; D3 is new and gets none.
      expect(put.body[ACME]).toEqual({ costCenter: 'CC-2', clearance: 'secret', devices: [{ value: 'D1', type: 'laptop', assetTag: 'A-1' }, { value: 'D3' }] });
      expect(put.body.groups).toEqual([]);
      expect(put.body.meta.version).toBe(`W/"${Number(before.body.meta.version.match(/\d+/)[0]) + 1}"`);

      // Omitted: the readOnly values stay, even with the whole extension left out.
      const omitted = await h.scim('PUT', `/Users/${u.id}`, { schemas: [USER], userName: u.userName });
      expect(omitted.status).toBe(200);
      expect(omitted.body[ACME]).toEqual({ clearance: 'secret' });
      expect(omitted.body[ENT]).toBeUndefined();
      expect(omitted.body.schemas).toEqual([USER, ACME]);
    });

    it('should treat a PUT that only resends readOnly values differently as no change', async () => {
      const u = await createUser({ costCenter: 'CC-1' }, { [ENT]: { manager: { value: 'm-1' } } });
      await serverSets(u.id, (doc) => { doc[ENT].manager.displayName = 'Server Name'; });
      const before = await h.scim('GET', `/Users/${u.id}`);
      const put = await h.scim('PUT', `/Users/${u.id}`, { schemas: [USER, ENT, ACME], userName: u.userName, [ENT]: { manager: { value: 'm-1', displayName: 'Other' } }, [ACME]: { costCenter: 'CC-1' } });
      expect(put.status).toBe(200);
      expect(put.body.meta.version).toBe(before.body.meta.version);
    });

    it('should ignore readOnly sub-attributes nested in a PATCH value, and refuse a path naming one', async () => {
      const u = await createUser({}, { [ENT]: { manager: { value: 'm-1' } } });
      await serverSets(u.id, (doc) => { doc[ENT].manager.displayName = 'Server Name'; });
      const nested = await h.scim('PATCH', `/Users/${u.id}`, patch({ op: 'replace', path: `${ENT}:manager`, value: { value: 'm-2', displayName: 'Client' } }));
      expect(nested.status).toBe(200);
      expect(nested.body[ENT].manager).toEqual({ value: 'm-2', displayName: 'Server Name' });
      const direct = await h.scim('PATCH', `/Users/${u.id}`, patch({ op: 'replace', path: `${ENT}:manager.displayName`, value: 'Client' }));
      expect([direct.status, direct.body.scimType]).toEqual([400, 'mutability']);
    });
  });

  describe('filters, sorting and projection', () => {
    let a: any; let b: any; let c: any;
    beforeAll(async () => {
      a = await createUser({ costCenter: 'Alpha', badgeNumber: 30, hireDate: '2024-01-01T00:00:00Z', contractor: true, devices: [{ value: 'A-L', type: 'laptop' }, { value: 'A-P', type: 'phone', primary: true }], site: { code: 'BER', name: 'Berlin' } });
      b = await createUser({ costCenter: 'beta', badgeNumber: 5, hireDate: '2024-01-01T02:00:00+03:00', devices: [{ value: 'B-P', type: 'phone' }], site: { code: 'ber', name: 'Bern' } });
      c = await createUser({ costCenter: 'Gamma', badgeNumber: 12 });
      expect((await h.scim('PATCH', `/Users/${c.id}`, patch({ op: 'add', path: TIER, value: { tier: 'gold' } }))).status).toBe(200);
    });

    it.each<[string, () => string, () => string[]]>([
      ['a URN-qualified eq, case-insensitive', () => `${ACME}:costCenter eq "ALPHA"`, () => [a.id]],
      ['a URN in other casing', () => `${ACME.toUpperCase()}:COSTCENTER sw "b"`, () => [b.id]],
      ['an integer gt', () => `${ACME}:badgeNumber gt 10`, () => [a.id, c.id]],
      ['a dateTime as instants across offsets', () => `${ACME}:hireDate lt "2024-01-01T00:00:00Z"`, () => [b.id]],
      ['a boolean', () => `${ACME}:contractor eq true`, () => [a.id]],
      ['a caseExact sub-attribute', () => `${ACME}:site.code eq "BER"`, () => [a.id]],
      ['a sub-attribute of a multi-valued attribute', () => `${ACME}:devices.type eq "phone"`, () => [a.id, b.id]],
      ['a valuePath inside the extension', () => `${ACME}:devices[type eq "phone" and primary eq true]`, () => [a.id]],
      ['a multi-valued attribute without a sub-attribute', () => `${ACME}:devices co "-l"`, () => [a.id]],
      ['presence', () => `${ACME}:site pr and ${ACME}:badgeNumber le 30`, () => [a.id, b.id]],
      ['a URN with a dot in its last segment', () => `${TIER}:tier eq "gold"`, () => [c.id]],
      ['not', () => `${ACME}:costCenter pr and not (${ACME}:costCenter eq "beta")`, () => [a.id, c.id]],
    ])('should filter by %s', async (_name, filter, expected) => {
      const found = await ids(`(${filter()}) and (id eq "${a.id}" or id eq "${b.id}" or id eq "${c.id}")`);
      expect(found.sort()).toEqual(expected().sort());
    });

    it.each([
      [`${ACME}:nope eq "x"`], [`${ACME}:badgeNumber eq "seven"`], [`${ACME}:contractor gt true`], [`urn:acme:unknown:User:costCenter eq "x"`],
    ])('should answer 400 invalidFilter to %s', async (filter) => {
      const r = await h.scim('GET', `/Users?filter=${encodeURIComponent(filter)}`);
      expect([r.status, r.body.scimType]).toEqual([400, 'invalidFilter']);
    });

    it('should sort by an extension attribute, numerically, unassigned last', async () => {
      const scope = encodeURIComponent(`id eq "${a.id}" or id eq "${b.id}" or id eq "${c.id}"`);
      const asc = await list(`filter=${scope}&sortBy=${ACME}:badgeNumber`);
      expect(asc.Resources.map((u: any) => u.id)).toEqual([b.id, c.id, a.id]);
      const desc = await list(`filter=${scope}&sortBy=${ACME.toUpperCase()}:SITE.NAME&sortOrder=descending`);
      expect(desc.Resources.map((u: any) => u.id)).toEqual([c.id, b.id, a.id]);
    });

    it('should project extension attributes with attributes and excludedAttributes', async () => {
      const only = await h.scim('GET', `/Users/${a.id}?attributes=${ACME}:costCenter,${ACME}:site.code`);
      expect(only.body).toEqual({ schemas: [USER, ACME], id: a.id, [ACME]: { costCenter: 'Alpha', site: { code: 'BER' } } });
      const whole = await h.scim('GET', `/Users/${a.id}?attributes=${ACME}`);
      expect(Object.keys(whole.body[ACME]).sort()).toEqual(['badgeNumber', 'contractor', 'costCenter', 'devices', 'hireDate', 'site']);
      const without = await h.scim('GET', `/Users/${a.id}?excludedAttributes=${ACME}:devices,${ACME}:site`);
      expect(without.body[ACME]).toEqual({ costCenter: 'Alpha', badgeNumber: 30, hireDate: '2024-01-01T00:00:00Z', contractor: true });
      expect(without.body.userName).toBe(a.userName);
    });
  });

  describe('PATCH', () => {
    const expectPatch = async (id: string, ...ops: unknown[]) => {
      const r = await h.scim('PATCH', `/Users/${id}`, patch(...ops));
      expect(r.status).toBe(200);
      return r.body;
    };

    it('should patch with URN paths, sub-attributes and valuePaths inside the extension, and the index follows', async () => {
      const u = await createUser({ costCenter: 'P-1', devices: [{ value: 'L1', type: 'laptop', primary: true }, { value: 'P1', type: 'phone' }] });
      let body = await expectPatch(u.id,
        { op: 'replace', path: `${ACME}:costCenter`, value: 'P-2' },
        { op: 'Add', path: `${ACME.toUpperCase()}:site.code`, value: 'MUC' },
        { op: 'replace', path: `${ACME}:devices[type eq "laptop"].value`, value: 'L2' },
        { op: 'add', path: `${ACME}:devices[type eq "tablet"].value`, value: 'T1' },
        { op: 'replace', path: `${ACME}:devices[value eq "P1"].primary`, value: 'True' },
      );
      expect(body[ACME]).toEqual({
        costCenter: 'P-2', site: { code: 'MUC' },
        // A new primary clears the old one (RFC 7643 §2.4).
        devices: [{ value: 'L2', type: 'laptop', primary: false }, { value: 'P1', type: 'phone', primary: true }, { type: 'tablet', value: 'T1' }],
      });
      expect(await ids(`${ACME}:costCenter eq "p-2"`)).toEqual([u.id]);
      expect(await ids(`${ACME}:devices[value eq "T1" and type eq "tablet"]`)).toEqual([u.id]);

      body = await expectPatch(u.id,
        { op: 'remove', path: `${ACME}:devices[type eq "tablet" or value eq "L2"]` },
        { op: 'remove', path: `${ACME}:site` },
      );
      expect(body[ACME]).toEqual({ costCenter: 'P-2', devices: [{ value: 'P1', type: 'phone', primary: true }] });
      expect(await ids(`${ACME}:devices.value eq "T1"`)).toEqual([]);
    });

    it('should patch without a path: full-URN keys, a bare URN key and Entra dotted keys', async () => {
      const u = await createUser({ costCenter: 'N-1' });
      const body = await expectPatch(u.id,
        { op: 'replace', value: { [`${ACME}:costCenter`]: 'N-2', [`${ACME}:site.name`]: 'Oslo', 'name.givenName': 'Kari' } },
        { op: 'add', value: { [TIER]: { tier: 'silver' }, [ACME]: { badgeNumber: 44 } } },
      );
      expect(body[ACME]).toEqual({ costCenter: 'N-2', site: { name: 'Oslo' }, badgeNumber: 44 });
      expect(body[TIER]).toEqual({ tier: 'silver' });
      expect(body.name).toEqual({ givenName: 'Kari' });
      expect(body.schemas).toEqual([USER, ACME, TIER]);
      const removed = await expectPatch(u.id, { op: 'remove', path: TIER });
      expect(removed[TIER]).toBeUndefined();
      expect(removed.schemas).toEqual([USER, ACME]);
    });

    it.each<[string, unknown, string]>([
      ['an unknown extension attribute', { op: 'replace', path: `${ACME}:shoeSize`, value: 'x' }, 'invalidPath'],
      ['an unknown extension URN', { op: 'replace', path: 'urn:acme:unknown:2.0:User:costCenter', value: 'x' }, 'invalidPath'],
      ['an unknown key in a bare-URN value', { op: 'add', value: { [ACME]: { shoeSize: 4 } } }, 'invalidPath'],
      ['a readOnly extension attribute', { op: 'replace', path: `${ACME}:clearance`, value: 'top' }, 'mutability'],
      ['a readOnly sub-attribute by valuePath', { op: 'replace', path: `${ACME}:devices[value eq "D1"].assetTag`, value: 'x' }, 'mutability'],
      ['a changed immutable value', { op: 'replace', path: `${ACME}:employeeCode`, value: 'E-9' }, 'mutability'],
      ['an integer as text', { op: 'replace', path: `${ACME}:badgeNumber`, value: 'many' }, 'invalidValue'],
      ['a malformed dateTime', { op: 'replace', value: { [`${ACME}:hireDate`]: '31/12/2024' } }, 'invalidValue'],
      ['a sub-attribute of a multi-valued attribute without a filter', { op: 'replace', path: `${ACME}:devices.value`, value: 'x' }, 'invalidPath'],
      ['a filter on an unknown sub-attribute', { op: 'replace', path: `${ACME}:devices[color eq "red"].value`, value: 'x' }, 'invalidFilter'],
      ['replace on a non-equality filter matching nothing', { op: 'replace', path: `${ACME}:devices[value sw "zz"].type`, value: 'phone' }, 'noTarget'],
      ['a device without its required value', { op: 'add', path: `${ACME}:devices`, value: [{ type: 'phone' }] }, 'invalidValue'],
      ['a string for the whole extension', { op: 'replace', path: ACME, value: 'x' }, 'invalidValue'],
    ])('should answer 400 to a PATCH with %s and change nothing', async (_name, op, scimType) => {
      const u = await createUser({ employeeCode: 'E-1', devices: [{ value: 'D1' }] });
      const r = await h.scim('PATCH', `/Users/${u.id}`, patch({ op: 'replace', path: `${ACME}:costCenter`, value: 'first' }, op));
      expect([r.status, r.body.scimType]).toEqual([400, scimType]);
      expect((await h.scim('GET', `/Users/${u.id}`)).body).toEqual(u);
    });

    it('should not bump the version for a PATCH that changes nothing', async () => {
      const u = await createUser({ costCenter: 'Same' });
      const body = await expectPatch(u.id, { op: 'replace', path: `${ACME.toUpperCase()}:COSTCENTER`, value: 'Same' });
      expect(body.meta.version).toBe(u.meta.version);
    });
  });
});
