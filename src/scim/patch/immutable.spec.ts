import type { StoredResource } from '../../identity/resource.types.js';
import { enforceMutability } from '../resource.input.js';
import { attribute, complexAttribute } from '../schema/attribute.util.js';
import { SchemaRegistry } from '../schema/schema-registry.js';
import { PATCH_OP_SCHEMA, USER_SCHEMA } from '../scim.constants.js';
import { PatchService } from './patch.service.js';

/**
 * RFC 7643 §7 `immutable` on singular attributes. No core or enterprise User attribute is immutable,
 * so a company extension supplies them: `badge` (simple) and `device.serial` (sub-attribute of a
 * singular complex attribute).
 */
const ACME = 'urn:acme:scim:schemas:1.0:User';
const registry = new SchemaRegistry({
  schemas: [{
    id: ACME, name: 'Acme', description: 'Acme',
    attributes: [
      attribute('badge', 'string', 'Badge number.', { mutability: 'immutable' }),
      complexAttribute('device', 'Device.', [attribute('serial', 'string', 'Serial.', { mutability: 'immutable' }), attribute('label', 'string', 'Label.')]),
    ],
  }],
  extensions: [{ resourceType: 'User', schema: ACME }],
});
const patches = new PatchService(registry);

function stored(ext?: Record<string, unknown>): StoredResource {
  const doc: Record<string, unknown> = { schemas: [USER_SCHEMA], userName: 'bjensen' };
  if (ext) doc[ACME] = ext;
  return { id: 'u1', resourceType: 'User', externalId: null, version: 1, active: true, created: '', lastModified: '', deletedAt: null, doc };
}
const apply = (current: StoredResource, ...Operations: unknown[]) => patches.apply('User', current, patches.parse({ schemas: [PATCH_OP_SCHEMA], Operations }));
const mutability = expect.objectContaining({ scimType: 'mutability' });

describe('immutable attributes (RFC 7643 §7)', () => {
  it.each([
    ['add', { op: 'add', path: `${ACME}:badge`, value: 'B1' }],
    ['replace', { op: 'replace', path: `${ACME}:badge`, value: 'B1' }],
    ['a sub-attribute', { op: 'add', path: `${ACME}:device.serial`, value: 'S1' }],
    ['no path', { op: 'add', value: { [ACME]: { badge: 'B1', device: { serial: 'S1' } } } }],
  ])('PATCH may assign an unassigned immutable attribute (%s)', (_name, op) => {
    expect(() => apply(stored(), op)).not.toThrow();
  });

  it.each([
    ['replace', { op: 'replace', path: `${ACME}:badge`, value: 'B2' }],
    ['add', { op: 'add', path: `${ACME}:badge`, value: 'B2' }],
    ['remove', { op: 'remove', path: `${ACME}:badge` }],
    ['sub-attribute replace', { op: 'replace', path: `${ACME}:device.serial`, value: 'S2' }],
    ['sub-attribute remove', { op: 'remove', path: `${ACME}:device.serial` }],
    ['parent replace', { op: 'replace', path: `${ACME}:device`, value: { serial: 'S2' } }],
    ['parent remove', { op: 'remove', path: `${ACME}:device` }],
  ])('PATCH may not change an assigned immutable attribute (%s) → 400 mutability', (_name, op) => {
    expect(() => apply(stored({ badge: 'B1', device: { serial: 'S1' } }), op)).toThrow(mutability);
  });

  it('PATCH may send the same value again and change a readWrite neighbour', () => {
    const w = apply(stored({ badge: 'B1', device: { serial: 'S1' } }),
      { op: 'replace', path: `${ACME}:badge`, value: 'B1' }, { op: 'replace', path: `${ACME}:device.label`, value: 'L' });
    expect(w.doc[ACME]).toEqual({ badge: 'B1', device: { serial: 'S1', label: 'L' } });
  });

  it('PUT: same value or unassigned → fine; a change or an omission → 400 mutability', () => {
    const before = stored({ badge: 'B1' }).doc;
    expect(() => enforceMutability('User', before, { ...before }, registry)).not.toThrow();
    expect(() => enforceMutability('User', stored().doc, before, registry)).not.toThrow();
    expect(() => enforceMutability('User', before, { ...before, [ACME]: { badge: 'B2' } }, registry)).toThrow(mutability);
    expect(() => enforceMutability('User', before, stored().doc, registry)).toThrow(mutability);
  });
});
