import { storeKinds } from '../utils/databases.js';
import { Harness } from '../utils/harness.js';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

describe.each(storeKinds())('sorted lists over HTTP (%s)', db => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ db });
    for (const [userName, title] of [['carol@x.com', 'b'], ['Alice@x.com', undefined], ['bob@x.com', 'a']] as const) {
      expect((await h.scim('POST', '/Users', { schemas: [CORE], userName, ...(title ? { title } : {}) })).status).toBe(201);
    }
  });
  afterAll(() => h?.close());

  it('should sort GET lists by a case-insensitive attribute name, case-folded values', async () => {
    const r = await h.scim('GET', '/Users?sortBy=USERNAME&sortOrder=descending');
    expect(r.status).toBe(200);
    expect(r.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(['carol@x.com', 'bob@x.com', 'Alice@x.com']);
  });

  it('should sort .search results with missing values last when ascending', async () => {
    const r = await h.scim('POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], sortBy: 'title', sortOrder: 'ascending', attributes: ['userName'] });
    expect(r.status).toBe(200);
    expect(r.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(['bob@x.com', 'carol@x.com', 'Alice@x.com']);
  });

  it('should advertise sort support', async () => {
    expect((await h.scim('GET', '/ServiceProviderConfig')).body.sort).toEqual({ supported: true });
  });

  it('should filter on meta.location with the URL this request is served under', async () => {
    const all = await h.scim('GET', '/Users?filter=' + encodeURIComponent('userName eq "bob@x.com"'));
    const location = all.body.Resources[0].meta.location as string;
    expect(location).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/scim\/v2\/Users\/[0-9a-f-]{36}$/);
    const r = await h.scim('GET', '/Users?filter=' + encodeURIComponent(`meta.location eq "${location}"`));
    expect(r.status).toBe(200);
    expect(r.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(['bob@x.com']);
  });

  it('should reject an unknown sortBy with invalidValue', async () => {
    const r = await h.scim('GET', '/Users?sortBy=nonsense');
    expect(r.status).toBe(400);
    expect(r.body.scimType).toBe('invalidValue');
  });
});
