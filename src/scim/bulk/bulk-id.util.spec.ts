import { bulkRefsInData, bulkRefsInPath, resolveBulkRefsInData, resolveBulkRefsInPath } from './bulk-id.util.js';

const ids: Record<string, string> = { u1: 'id-u1', 'u-2': 'id-u2', g1: 'id-g1' };
const lookup = (b: string): string => {
  if (!(b in ids)) throw new Error(`unknown ${b}`);
  return ids[b];
};

describe('bulkRefsInData', () => {
  it.each<[string, unknown, string[]]>([
    ['a whole-string reference', 'bulkId:u1', ['u1']],
    ['group members at depth', { members: [{ value: 'bulkId:u1' }, { value: 'bulkId:u-2' }, { value: 'plain-id' }] }, ['u1', 'u-2']],
    ['a PATCH value', { Operations: [{ op: 'add', path: 'members', value: [{ value: 'bulkId:g1' }] }] }, ['g1']],
    ['text that only contains the prefix', { displayName: 'see bulkId:u1', title: 'bulkId:' }, []],
    ['non-string scalars', { active: true, n: 3, x: null }, []],
  ])('should find %s', (_, value, expected) => {
    expect([...bulkRefsInData(value)]).toEqual(expected);
  });
});

describe('bulkRefsInPath', () => {
  it.each<[string, string[]]>([
    ['/Groups/bulkId:g1', ['g1']],
    ['/Users', []],
    ['members[value eq "bulkId:u1"]', ['u1']],
    ['members[value eq "bulkId:u1" or value eq "bulkId:u-2"].display', ['u1', 'u-2']],
  ])('should find the references in %j', (path, expected) => {
    expect([...bulkRefsInPath(path)]).toEqual(expected);
  });
});

describe('resolveBulkRefsInData', () => {
  it('should replace every whole-string reference and copy the rest', () => {
    const data = { schemas: ['s'], displayName: 'see bulkId:x', members: [{ value: 'bulkId:u1' }, { value: 'bulkId:u-2', type: 'User' }] };
    expect(resolveBulkRefsInData(data, lookup)).toEqual({ schemas: ['s'], displayName: 'see bulkId:x', members: [{ value: 'id-u1' }, { value: 'id-u2', type: 'User' }] });
    expect(data.members[0].value).toBe('bulkId:u1');
  });

  it('should keep a __proto__ key as an own key when copying', () => {
    const out = resolveBulkRefsInData(JSON.parse('{"__proto__":{"polluted":true}}'), lookup) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('should propagate the lookup error when a reference is unknown', () => {
    expect(() => resolveBulkRefsInData({ members: [{ value: 'bulkId:nope' }] }, lookup)).toThrow('unknown nope');
  });
});

describe('resolveBulkRefsInPath', () => {
  it.each<[string, string]>([
    ['/Groups/bulkId:g1', '/Groups/id-g1'],
    ['/Users/abc', '/Users/abc'],
    ['members[value eq "bulkId:u1"]', 'members[value eq "id-u1"]'],
  ])('should resolve %j to %j', (path, expected) => {
    expect(resolveBulkRefsInPath(path, lookup)).toBe(expected);
  });
});
