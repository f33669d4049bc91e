import { parseSort } from '../resource-query.service.js';
import { SchemaRegistry } from '../schema/schema-registry.js';
import { ScimError } from '../scim.error.js';
import { IndexSchema } from './index-schema.js';
import { sortExpression } from './filter-sql.js';

const registry = new SchemaRegistry();
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

describe('parseSort (RFC 7644 §3.4.2.3)', () => {
  it.each<[Record<string, unknown>, { path: string; descending: boolean } | undefined]>([
    [{}, undefined],
    [{ sortOrder: 'descending' }, undefined],
    [{ sortBy: '' }, undefined],
    [{ sortBy: 'userName' }, { path: 'userName', descending: false }],
    [{ sortBy: 'USERNAME', sortOrder: 'DESCENDING' }, { path: 'userName', descending: true }],
    [{ sortBy: ' name.familyName ', sortOrder: 'ascending' }, { path: 'name.familyName', descending: false }],
    [{ sortBy: 'emails' }, { path: 'emails', descending: false }],
    [{ sortBy: `${ENT}:manager.value` }, { path: `${ENT}:manager.value`, descending: false }],
    [{ sortBy: 'meta.lastModified', sortOrder: '' }, { path: 'meta.lastModified', descending: false }],
  ])('%j', (params, expected) => {
    const spec = parseSort(registry, 'User', params);
    expect(spec && { path: spec.resolved.canonicalPath, descending: spec.descending }).toEqual(expected);
  });

  it.each<Record<string, unknown>>([
    { sortBy: 'nope' }, { sortBy: 'name' }, { sortBy: ENT }, { sortBy: 'password' }, { sortBy: 'groups' }, { sortBy: 'meta.location' },
    { sortBy: 'userName', sortOrder: 'asc' }, { sortBy: 1 }, { sortBy: 'userName', sortOrder: ['descending'] },
  ])('400 invalidValue for %j', (params) => {
    expect(() => parseSort(registry, 'User', params)).toThrow(expect.objectContaining({ status: 400, scimType: 'invalidValue' }) as unknown as ScimError);
  });
});

describe('sortExpression', () => {
  const schema = new IndexSchema(registry, 'User');
  const sql = (path: string, dialect: 'postgres' | 'sqlite') => {
    const bound: string[] = [];
    const text = sortExpression(schema.targetOf(registry.resolve('User', path)), dialect, (v) => { bound.push(v); return `:s${bound.length - 1}`; });
    return { text, bound };
  };

  it.each<[string, 'postgres' | 'sqlite', string[], RegExp[]]>([
    ['userName', 'postgres', ['username'], [/COLLATE "C"$/, /LIMIT 1/]],
    ['userName', 'sqlite', ['username'], [/LIMIT 1\)$/]],
    ['emails', 'sqlite', ['emails.primary', 'emails.value'], [/ORDER BY CASE WHEN EXISTS/, /s\.element LIMIT 1/]],
    ['meta.created', 'postgres', ['meta.created'], [/s\.value <> '!'/]],
    ['active', 'sqlite', ['active'], [/s\.value <> '!'/]],
  ])('%s on %s', (path, dialect, bound, patterns) => {
    const out = sql(path, dialect);
    expect(out.bound).toEqual(bound);
    for (const p of patterns) expect(out.text).toMatch(p);
  });
});
