import type { StoredResource } from '../../identity/resource.types.js';
import { parsePatchPath } from '../filter/filter.parser.js';
import { attribute, complexAttribute } from '../schema/attribute.util.js';
import { SchemaRegistry } from '../schema/schema-registry.js';
import { ENTERPRISE_USER_SCHEMA as ENT, PATCH_OP_SCHEMA, USER_SCHEMA } from '../scim.constants.js';
import { ScimError } from '../scim.error.js';
import { PatchService } from './patch.service.js';

/**
 * PATCH paths under configured extension URNs: `urn:acme:ext` and `urn:acme:ext:v1.2` (a dot in the
 * last segment, and one URN a prefix of the other's text) only split right by matching registered URNs.
 */
const SHORT = 'urn:acme:ext';
const DOTTED = 'urn:acme:ext2:v1.2';
const registry = new SchemaRegistry({
  schemas: [
    { id: SHORT, name: 'Short', description: '', attributes: [attribute('v1', 'string', ''), complexAttribute('site', '', [attribute('code', 'string', '')])] },
    {
      id: DOTTED, name: 'Dotted', description: '',
      attributes: [
        attribute('tier', 'string', ''),
        complexAttribute('devices', '', [attribute('value', 'string', ''), attribute('type', 'string', ''), attribute('primary', 'boolean', '')], { multiValued: true }),
      ],
    },
  ],
  extensions: [{ resourceType: 'User', schema: SHORT }, { resourceType: 'User', schema: DOTTED }],
});
const patches = new PatchService(registry);
const URNS = registry.schemas().map(s => s.id);

function stored(doc: Record<string, unknown> = {}): StoredResource {
  return { id: 'u1', resourceType: 'User', externalId: null, version: 1, active: true, created: '', lastModified: '', deletedAt: null, doc: { schemas: [USER_SCHEMA], userName: 'bjensen', ...doc } };
}
const apply = (current: StoredResource, ...Operations: unknown[]) => patches.apply('User', current, patches.parse({ schemas: [PATCH_OP_SCHEMA], Operations })).doc;

function scimType(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ScimError) return e.scimType;
    throw e;
  }
  throw new Error('expected a ScimError');
}

describe(PatchService.name, () => {
  it.each<[string, unknown]>([
    [`${DOTTED}:tier`, { uri: DOTTED, attr: 'tier' }],
    [`${DOTTED.toUpperCase()}:TIER`, { uri: DOTTED.toUpperCase(), attr: 'TIER' }],
    [`${DOTTED}:devices`, { uri: DOTTED, attr: 'devices' }],
    [`${SHORT}:v1`, { uri: SHORT, attr: 'v1' }],
    [`${SHORT}:site.code`, { uri: SHORT, attr: 'site', sub: 'code' }],
    [`${ENT}:manager.value`, { uri: ENT, attr: 'manager', sub: 'value' }],
  ])('should split %s after the longest registered URN', (text, attrPath) => {
    expect(parsePatchPath(text, { schemaUrns: URNS }).attrPath).toEqual(attrPath);
  });

  it.each([`urn:acme:other:1.0:User:x`, `${SHORT}:v1:x`, `${DOTTED}:devices.value.x`])('should refuse %s as a path (400 invalidPath)', (text) => {
    expect(scimType(() => parsePatchPath(text, { schemaUrns: URNS }))).toBe('invalidPath');
  });

  it('should patch through a bare dotted URN, its attributes and a valuePath inside it', () => {
    const doc = apply(stored(),
      { op: 'add', path: DOTTED, value: { tier: 'gold', devices: [{ value: 'L1', type: 'laptop', primary: true }] } },
      { op: 'add', path: `${DOTTED}:devices[type eq "phone"].value`, value: 'P1' },
      { op: 'replace', path: `${DOTTED}:devices[value eq "P1"].primary`, value: true },
      { op: 'replace', value: { [`${SHORT}:v1`]: 'one', [`${SHORT}:site.code`]: 'BER' } },
    );
    expect(doc[DOTTED]).toEqual({ tier: 'gold', devices: [{ value: 'L1', type: 'laptop', primary: false }, { type: 'phone', value: 'P1', primary: true }] });
    expect(doc[SHORT]).toEqual({ v1: 'one', site: { code: 'BER' } });
    expect(doc.schemas).toEqual([USER_SCHEMA, SHORT, DOTTED]);
  });

  it('should store attribute names in the schema spelling and drop an emptied extension', () => {
    const doc = apply(stored({ [SHORT]: { v1: 'x' } }), { op: 'replace', path: `${DOTTED.toUpperCase()}:TIER`, value: 'silver' }, { op: 'remove', path: `${SHORT}:V1` });
    expect(doc[DOTTED]).toEqual({ tier: 'silver' });
    expect(doc[SHORT]).toBeUndefined();
    expect(doc.schemas).toEqual([USER_SCHEMA, DOTTED]);
  });

  it.each<[string, unknown, string]>([
    ['an unknown attribute of the extension', { op: 'add', path: `${DOTTED}:nope`, value: 'x' }, 'invalidPath'],
    ['a filter in a path-less key', { op: 'add', value: { [`${DOTTED}:devices[type eq "x"].value`]: 'x' } }, 'invalidPath'],
    ['a bare-word filter value', { op: 'add', path: `${DOTTED}:devices[type eq phone].value`, value: 'x' }, 'invalidPath'],
    ['a filter on a simple attribute', { op: 'add', path: `${DOTTED}:tier[value eq "x"]`, value: 'x' }, 'invalidPath'],
    ['a filter the schema rejects', { op: 'add', path: `${DOTTED}:devices[primary co "x"].value`, value: 'x' }, 'invalidFilter'],
    ['replace on a non-equality filter matching nothing', { op: 'replace', path: `${DOTTED}:devices[value sw "z"].type`, value: 'x' }, 'noTarget'],
    ['the extension as a string', { op: 'replace', path: DOTTED, value: 'gold' }, 'invalidValue'],
  ])('should refuse %s', (_name, op, expected) => {
    expect(scimType(() => apply(stored(), op))).toBe(expected);
  });

  it('should ignore a PATCH on schemas (the server sets them)', () => {
    expect(apply(stored({ title: 't' }), { op: 'replace', path: 'schemas', value: ['junk'] }, { op: 'add', value: { schemas: ['junk'], title: 'u' } }))
      .toEqual({ schemas: [USER_SCHEMA], userName: 'bjensen', title: 'u' });
  });
});
