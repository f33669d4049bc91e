import { DbService } from '../../src/db/db.service.js';
import { ReindexResourceAttr1764500000000 } from '../../src/db/migrations/1764500000000-reindex-resource-attr.js';
import { storeKinds } from '../utils/databases.js';
import { Harness } from '../utils/harness.js';

/** The re-index migration rebuilds exactly the rows the write path writes, from stale or missing ones. */

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

describe.each(storeKinds())('re-index migration (%s)', (db) => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({ db });
  });

  afterAll(async () => {
    await h?.close();
  });

  const snapshot = async () => (await h.get(DbService).manager.query(
    'SELECT resource_id, resource_type, path, value, element FROM resource_attr ORDER BY resource_id, path, element, value',
  )).map((r: Record<string, unknown>) => ({ ...r, element: r.element === null ? null : Number(r.element) }));

  it('rebuilds resource_attr as the write path wrote it', async () => {
    await h.scim('POST', '/Users', { schemas: [USER, ENT], userName: 'Straße', emails: [{ value: 'A@X', primary: true }, { value: 'b@x' }], name: { givenName: 'İ' }, [ENT]: { manager: { value: 'M1' } } });
    await h.scim('POST', '/Users', { schemas: [USER], userName: 'two', externalId: 'ExT', active: false });
    const del = await h.scim('POST', '/Users', { schemas: [USER], userName: 'gone' });
    await h.scim('DELETE', `/Users/${del.body.id}`);
    await h.scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'G' });
    const written = await snapshot();
    expect(written.length).toBeGreaterThan(10);
    const manager = h.get(DbService).manager;
    await manager.query("UPDATE resource_attr SET value = 'stale'");
    await manager.query("DELETE FROM resource_attr WHERE path LIKE 'meta%'");
    const runner = h.get(DbService).dataSource.createQueryRunner();
    try {
      await new ReindexResourceAttr1764500000000().up(runner);
    } finally {
      await runner.release();
    }
    expect(await snapshot()).toEqual(written);
  });
});
