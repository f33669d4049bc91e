import { startScimmyApp } from '../downstream/scimmy-app.js';
import { startStrictApp } from '../downstream/strict-app.js';
import { DownstreamApp } from '../downstream/downstream-app.js';
import { Harness, TARGET_TOKEN } from '../utils/harness.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** The same mapping block on both targets: an expression, a default, an added function, a create-only constant. */
const mappings = [
  { target: 'displayName', expression: 'name.givenName & " " & $uppercase(name.familyName)' },
  { target: 'title', source: `${ENT}:department`, default: 'Staff' },
  { target: 'nickName', expression: '$lowercase($normalizeDiacritics(name.givenName))' },
  { target: 'userType', value: 'Employee', applyOn: 'create' },
];

describe('attribute mappings end to end (scimmy-app and strict-app)', () => {
  let scimmy: DownstreamApp;
  let strict: DownstreamApp;
  let h: Harness;

  beforeAll(async () => {
    scimmy = await startScimmyApp({ token: TARGET_TOKEN });
    strict = await startStrictApp({ token: TARGET_TOKEN });
    // schemaCheck defaults to error: the start-up check reads both apps' /Schemas and accepts these paths.
    h = await Harness.start({
      targets: [
        { id: 'lenient', baseUrl: scimmy.url, mappings },
        { id: 'strict', baseUrl: strict.url, mappings },
      ],
    });
  });

  afterAll(async () => {
    await h?.close();
    await scimmy?.close();
    await strict?.close();
  });

  const remote = (app: DownstreamApp, userName: string) => app.users().find(u => u.userName === userName)!;
  const writesTo = (app: DownstreamApp, id: string) => app.requests.filter(r => r.resourceId === id && r.method !== 'GET').length;

  it('should send expressions and defaults, send applyOn create once, and never remove or resend it on later updates', async () => {
    const zoe = await h.scim('POST', '/Users', {
      schemas: [USER, ENT], userName: 'zoe@example.com', name: { givenName: 'Zoë', familyName: 'Łukasz' }, userType: 'Contractor', active: true,
      [ENT]: { department: 'R&D' },
    });
    const bob = await h.scim('POST', '/Users', { schemas: [USER], userName: 'bob@example.com', name: { givenName: 'Bob', familyName: 'Ray' }, active: true });
    expect([zoe.status, bob.status]).toEqual([201, 201]);
    await h.drain();

    for (const app of [scimmy, strict]) {
      expect(remote(app, 'zoe@example.com')).toMatchObject({ displayName: 'Zoë ŁUKASZ', title: 'R&D', nickName: 'zoe', userType: 'Employee', externalId: zoe.body.id });
      expect(remote(app, 'bob@example.com')).toMatchObject({ displayName: 'Bob RAY', title: 'Staff', nickName: 'bob', userType: 'Employee' });
    }

    // An update: the expression and the default follow; userType (applyOn create) is neither replaced nor removed.
    const update = await h.scim('PATCH', `/Users/${zoe.body.id}`, { schemas: [PATCH], Operations: [
      { op: 'replace', path: 'name.familyName', value: 'Nowak' },
      { op: 'replace', path: 'userType', value: 'Intern' },
      { op: 'remove', path: `${ENT}:department` },
    ] });
    expect(update.status).toBe(200);
    await h.drain();
    for (const app of [scimmy, strict]) {
      expect(remote(app, 'zoe@example.com')).toMatchObject({ displayName: 'Zoë NOWAK', title: 'Staff', nickName: 'zoe', userType: 'Employee' });
    }

    // A change to nothing but the create-only source leaves the pushed state (and its hash) as it was: no HTTP call.
    const before = [scimmy, strict].map(app => writesTo(app, String(remote(app, 'zoe@example.com').id)));
    expect(before.every(n => n >= 2)).toBe(true);
    expect((await h.scim('PATCH', `/Users/${zoe.body.id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'userType', value: 'Temp' }] })).status).toBe(200);
    await h.drain();
    expect([scimmy, strict].map(app => writesTo(app, String(remote(app, 'zoe@example.com').id)))).toEqual(before);
    for (const app of [scimmy, strict]) expect(remote(app, 'zoe@example.com').userType).toBe('Employee');
  });
});
