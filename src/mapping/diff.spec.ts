import { createHash } from 'node:crypto';
import { ENTERPRISE_USER_SCHEMA as ENT, USER_SCHEMA } from '../scim/scim.constants.js';
import type { PatchOperation } from '../targets/scim-client.js';
import type { MappingConfig, TargetConfig } from '../config/app-config.js';
import { diffMapped, hashMapped } from './diff.js';
import { compileTargetRules } from './target-rules.js';

type Json = Record<string, unknown>;

const base: Json = {
  schemas: [USER_SCHEMA, ENT],
  externalId: 'u-1',
  userName: 'jdoe',
  name: { givenName: 'Jane', familyName: 'Doe' },
  emails: [{ value: 'jdoe@example.com', type: 'work', primary: true }],
  active: true,
  [ENT]: { department: 'R&D', manager: { value: 'u-9' } },
};

const withChanges = (changes: Json): Json => ({ ...base, ...changes });

describe(diffMapped.name, () => {
  it.each<[string, Json | undefined, Json, PatchOperation[]]>([
    ['should send nothing when nothing changed', base, structuredClone(base), []],
    ['should ignore object key order', base, { ...Object.fromEntries(Object.entries(base).reverse()) }, []],
    ['should replace a changed simple attribute', base, withChanges({ userName: 'jane.doe' }),
      [{ op: 'replace', path: 'userName', value: 'jane.doe' }]],
    ['should replace a changed boolean', base, withChanges({ active: false }),
      [{ op: 'replace', path: 'active', value: false }]],
    ['should replace an added attribute', base, withChanges({ title: 'Boss' }),
      [{ op: 'replace', path: 'title', value: 'Boss' }]],
    ['should remove an attribute that disappeared', withChanges({ title: 'Boss' }), base,
      [{ op: 'remove', path: 'title' }]],
    ['should treat a null as absent', withChanges({ title: null }), base, []],
    ['should replace a changed sub-attribute by its path', base, withChanges({ name: { givenName: 'Janet', familyName: 'Doe' } }),
      [{ op: 'replace', path: 'name.givenName', value: 'Janet' }]],
    ['should remove a sub-attribute that disappeared and add a new one', base, withChanges({ name: { givenName: 'Jane', middleName: 'Q' } }),
      [{ op: 'replace', path: 'name.middleName', value: 'Q' }, { op: 'remove', path: 'name.familyName' }]],
    ['should replace a new complex attribute whole', withChanges({ name: undefined }), base,
      [{ op: 'replace', path: 'name', value: { givenName: 'Jane', familyName: 'Doe' } }]],
    ['should remove a complex attribute that disappeared', base, withChanges({ name: undefined }),
      [{ op: 'remove', path: 'name' }]],
    ['should replace a multi-valued attribute whole when one value changed', base,
      withChanges({ emails: [{ value: 'jane@example.com', type: 'work', primary: true }] }),
      [{ op: 'replace', path: 'emails', value: [{ value: 'jane@example.com', type: 'work', primary: true }] }]],
    ['should replace a multi-valued attribute whole when a value was added', base,
      withChanges({ emails: [{ value: 'jdoe@example.com', type: 'work', primary: true }, { value: 'j@home.example', type: 'home' }] }),
      [{ op: 'replace', path: 'emails', value: [{ value: 'jdoe@example.com', type: 'work', primary: true }, { value: 'j@home.example', type: 'home' }] }]],
    ['should remove a multi-valued attribute that became empty', base, withChanges({ emails: [] }),
      [{ op: 'remove', path: 'emails' }]],
    ['should use a URN-qualified path for a changed enterprise attribute', base,
      withChanges({ [ENT]: { department: 'Sales', manager: { value: 'u-9' } } }),
      [{ op: 'replace', path: `${ENT}:department`, value: 'Sales' }]],
    ['should use a URN-qualified sub-attribute path inside the enterprise extension', base,
      withChanges({ [ENT]: { department: 'R&D', manager: { value: 'u-8' } } }),
      [{ op: 'replace', path: `${ENT}:manager.value`, value: 'u-8' }]],
    ['should add enterprise attributes one path each when the extension is new', withChanges({ [ENT]: undefined, schemas: [USER_SCHEMA] }), base,
      [{ op: 'replace', path: `${ENT}:department`, value: 'R&D' }, { op: 'replace', path: `${ENT}:manager`, value: { value: 'u-9' } }]],
    ['should remove enterprise attributes one path each when the extension disappeared', base, withChanges({ [ENT]: undefined, schemas: [USER_SCHEMA] }),
      [{ op: 'remove', path: `${ENT}:department` }, { op: 'remove', path: `${ENT}:manager` }]],
    ['should never touch schemas', base, withChanges({ schemas: [USER_SCHEMA, 'urn:other'] }), []],
    ['should replace every attribute when nothing was pushed before', undefined, { schemas: [USER_SCHEMA], externalId: 'u-1', userName: 'jdoe', name: { givenName: 'Jane' } },
      [{ op: 'replace', path: 'externalId', value: 'u-1' }, { op: 'replace', path: 'userName', value: 'jdoe' }, { op: 'replace', path: 'name', value: { givenName: 'Jane' } }]],
    ['should match attribute names case-insensitively', { userName: 'jdoe', Title: 'Boss' }, { username: 'jdoe', title: 'Boss' }, []],
    ['should send a case-only change of a value', { userName: 'jdoe' }, { userName: 'JDoe' },
      [{ op: 'replace', path: 'userName', value: 'JDoe' }]],
  ])('%s', (_name, previous, desired, expected) => {
    expect(diffMapped(previous, desired)).toEqual(expected);
  });
});

describe(hashMapped.name, () => {
  it.each<[string, Json, Json, boolean]>([
    ['should hash equal payloads alike regardless of key order', { a: 1, b: { c: 2, d: [1, 2] } }, { b: { d: [1, 2], c: 2 }, a: 1 }, true],
    ['should ignore undefined properties', { a: 1, b: undefined }, { a: 1 }, true],
    ['should differ when a value differs', { a: 1 }, { a: 2 }, false],
    ['should differ when array order differs', { a: [1, 2] }, { a: [2, 1] }, false],
    ['should differ when a value changes type', { a: '1' }, { a: 1 }, false],
  ])('%s', (_name, left, right, same) => {
    expect(hashMapped(left) === hashMapped(right)).toBe(same);
  });

  it('should be the sha256 hex of the sorted-key JSON', () => {
    expect(hashMapped({ b: 1, a: 'x', c: { e: [true], d: null } }))
      .toBe(createHash('sha256').update('{"a":"x","b":1,"c":{"d":null,"e":[true]}}').digest('hex'));
  });
});

describe('diffMapped with intent', () => {
  const HR = 'urn:acme:params:scim:schemas:extension:hr:1.0:User';
  const t = (passThrough: 'core' | 'none', mappings: MappingConfig[]): TargetConfig => ({
    id: 'app', baseUrl: 'https://app.example', auth: { type: 'none' }, resourceTypes: ['User'], passThrough, mappings,
    deprovision: { onDeactivate: 'disable', onOutOfScope: 'disable', onDelete: 'delete' }, timeoutMs: 1000, concurrency: 1,
    retry: { attempts: 1, backoffMs: 1, maxBackoffMs: 1 }, circuit: { failureThreshold: 1, probeIntervalMs: 1 },
  } as TargetConfig);
  const intent = (target: TargetConfig) => compileTargetRules(target).intent('User');

  it.each<[string, TargetConfig, Json, Json, PatchOperation[]]>([
    ['should never remove a create-only attribute a remote read-back shows',
      t('core', [{ target: 'userType', value: 'Employee', applyOn: 'create' }]),
      { userName: 'jdoe', userType: 'Employee' }, { userName: 'jdoe' }, []],
    ['should remove an always attribute whose value disappeared',
      t('core', [{ target: 'userType', value: 'Employee', applyOn: 'create' }]),
      { userName: 'jdoe', title: 'Boss' }, { userName: 'jdoe' }, [{ op: 'remove', path: 'title' }]],
    ['should never remove an attribute that is no longer mapped',
      t('none', [{ target: 'userName', source: 'userName' }]),
      { userName: 'jdoe', nickName: 'JD', [HR]: { costCenter: 'CC' } }, { userName: 'jdoe' }, []],
    ['should remove only the owned sub-attributes of a partly create-only complex attribute',
      t('core', [{ target: 'name.givenName', source: 'name.givenName', applyOn: 'create' }]),
      { name: { givenName: 'Jane', familyName: 'Doe', middleName: 'Q' } }, { name: { middleName: 'Q' } }, [{ op: 'remove', path: 'name.familyName' }]],
    ['should remove per sub-attribute when the whole complex attribute disappeared',
      t('core', [{ target: 'name.givenName', source: 'name.givenName', applyOn: 'create' }]),
      { name: { givenName: 'Jane', familyName: 'Doe' } }, {}, [{ op: 'remove', path: 'name.familyName' }]],
    ['should remove a mapped extension attribute but keep an unmapped one',
      t('none', [{ target: `${HR}:costCenter`, value: null }]),
      { [HR]: { costCenter: 'CC', grade: 'B' } }, {}, [{ op: 'remove', path: `${HR}:costCenter` }]],
    ['should still replace changed always attributes',
      t('none', [{ target: 'title', source: 'title' }]),
      { title: 'A', nickName: 'x' }, { title: 'B' }, [{ op: 'replace', path: 'title', value: 'B' }]],
  ])('%s', (_name, target, previous, desired, expected) => {
    expect(diffMapped(previous, desired, intent(target))).toEqual(expected);
  });
});
