import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { buildAppConfig, type MappingConfig, type TargetConfig } from '../config/app-config.js';
import { loadEnv } from '../config/env.js';
import { ConfigError } from '../config/config.error.js';
import { SchemaRegistry } from '../scim/schema/schema-registry.js';
import type { AttributeDefinition } from '../scim/schema/schema.types.js';
import { ENTERPRISE_USER_SCHEMA as ENT } from '../scim/scim.constants.js';
import { compileTargetRules, RemovalIntent, rulesFor, targetRuleProblems, targetRulesHash } from './target-rules.js';

const HR = 'urn:acme:params:scim:schemas:extension:hr:1.0:User';

function target(overrides: Partial<TargetConfig> = {}): TargetConfig {
  return {
    id: 'app-one',
    baseUrl: 'https://app.example/scim/v2',
    auth: { type: 'none' },
    resourceTypes: ['User', 'Group'],
    deprovision: { onDeactivate: 'disable', onOutOfScope: 'disable', onDelete: 'delete' },
    passThrough: 'core',
    mappings: [],
    timeoutMs: 1000,
    concurrency: 1,
    retry: { attempts: 1, backoffMs: 1, maxBackoffMs: 1 },
    circuit: { failureThreshold: 1, probeIntervalMs: 1 },
    ...overrides,
  } as TargetConfig;
}

const attr = (name: string, type: AttributeDefinition['type'] = 'string'): AttributeDefinition => ({
  name, type, multiValued: false, description: name, required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none',
});
const withHr = new SchemaRegistry({
  schemas: [{ id: HR, name: 'HR', description: 'HR data', attributes: [attr('costCenter'), attr('hireDate', 'dateTime')] }],
  extensions: [{ resourceType: 'User', schema: HR }],
});

describe(compileTargetRules.name, () => {
  it('should list every bad entry in one ConfigError naming target, index and target path', () => {
    const mappings: MappingConfig[] = [
      { target: 'userName', source: 'userName' },
      { target: 'displayName', expression: 'name.givenName &' },
      { target: 'title', source: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:departmnt' },
      { target: 'nickName', expression: '$frobnicate(userName)' },
    ];
    let error: unknown;
    try {
      compileTargetRules(target({ mappings, scope: 'departmnt eq "x"', groups: { filter: 'displayName eq' } }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(/^target app-one: mappings\[1\] \(displayName\): mapping expression for "app-one.mappings\[1\] displayName" is invalid: S0207/);
    expect(problems[1]).toMatch(/^target app-one: mappings\[2\] \(title\): .*unknown attribute/);
    expect(problems[2]).toBe('target app-one: mappings[3] (nickName): mapping expression for "app-one.mappings[3] nickName" is invalid: unknown function $frobnicate');
    expect(problems[3]).toMatch(/^target app-one: scope: filter "departmnt eq "x"" is invalid: Unknown attribute "departmnt"/);
    expect(problems[4]).toMatch(/^target app-one: groups.filter: /);
  });

  it('should resolve a custom extension through the registry and reject its unknown attributes', () => {
    const ok = compileTargetRules(target({ mappings: [{ target: `${HR}:costCenter`, source: `${HR.toUpperCase()}:COSTCENTER` }] }), withHr);
    expect(ok.mappings[0]!.source).toMatchObject({ urn: HR, attr: 'costCenter' });
    expect(ok.mappings[0]!.target).toMatchObject({ urn: HR, attr: 'costCenter' });
    expect(() => compileTargetRules(target({ mappings: [{ target: 'title', source: `${HR}:costCentre` }] }), withHr)).toThrow(`unknown attribute ${HR}:costCentre`);
  });

  it('should accept a target-only extension the registry does not know, split at its last colon', () => {
    const rules = compileTargetRules(target({ mappings: [{ target: 'urn:vendor:scim:2.0:User:seat.tier', value: 'gold' }] }));
    expect(rules.mappings[0]!.target).toMatchObject({ urn: 'urn:vendor:scim:2.0:User', attr: 'seat', sub: 'tier' });
  });

  it('should refuse an applyOn create element inside a multi-valued attribute that is sent on every update', () => {
    expect(() => compileTargetRules(target({ mappings: [{ target: 'emails[type eq "other"].value', value: 'x', applyOn: 'create' }] })))
      .toThrow(/applyOn create inside "emails"/);
    expect(() => compileTargetRules(target({ passThrough: 'none', mappings: [{ target: 'emails[type eq "other"].value', value: 'x', applyOn: 'create' }] })))
      .not.toThrow();
  });

  it('should refuse an attribute mapped both always and applyOn create', () => {
    expect(() => compileTargetRules(target({ mappings: [
      { target: 'name', source: 'name' },
      { target: 'name.givenName', value: 'x', applyOn: 'create' },
    ] }))).toThrow('target app-one: mappings[1] (name.givenName): applyOn create overlaps mappings[0] (name), which is applyOn always; map an attribute one way');
  });

  it('should evaluate scope for users, the group selection for groups, and nothing for types the target does not take', () => {
    const rules = compileTargetRules(target({ scope: 'groups.display eq "slack-users"', groups: { filter: 'displayName sw "eng-"' } }));
    expect(rules.referencesGroups).toBe(true);
    expect(rules.inScope({ resourceType: 'User', doc: {} }, [{ value: 'g', display: 'Slack-Users' }])).toBe(true);
    expect(rules.inScope({ resourceType: 'User', doc: {} }, [])).toBe(false);
    expect(rules.inScope({ resourceType: 'Group', doc: { displayName: 'eng-x' } })).toBe(true);
    expect(rules.groupSelected({ displayName: 'ops' })).toBe(false);
    const usersOnly = compileTargetRules(target({ resourceTypes: ['User'] }));
    expect(usersOnly.groupSelected({ displayName: 'eng-x' })).toBe(false);
  });

  it('should show scope filters the resource as SCIM does, with id and meta from the store', () => {
    const rules = compileTargetRules(target({ scope: 'meta.created ge "2025-01-01T00:00:00Z" and id ne "u-0"' }));
    const stored = (id: string, created: string) => ({ id, resourceType: 'User' as const, doc: { userName: id, active: true }, created, lastModified: created });
    expect(rules.inScope(stored('u-1', '2025-01-01T01:00:00+01:00'))).toBe(true);
    expect(rules.inScope(stored('u-2', '2024-12-31T23:59:59Z'))).toBe(false);
    expect(rules.inScope(stored('u-0', '2025-06-01T00:00:00Z'))).toBe(false);
  });

  it('should cache compiled rules per target object', () => {
    const t = target();
    expect(rulesFor(t)).toBe(rulesFor(t));
  });

  it('should report problems without throwing for start-up', () => {
    expect(targetRuleProblems([target(), target({ id: 'bad', scope: 'userName eq' })])).toEqual([expect.stringMatching(/^target bad: scope: /)]);
  });
});

describe(targetRulesHash.name, () => {
  const base = target({ mappings: [{ target: 'title', source: 'userType', default: 'Staff' }], scope: 'active eq true' });
  it('should not change with key order or defaults spelt out', () => {
    const reordered = target({ scope: 'active eq true', mappings: [{ default: 'Staff', source: 'userType', target: 'title', applyOn: 'always', resourceType: 'User' }] });
    expect(targetRulesHash(reordered)).toBe(targetRulesHash(base));
    expect(targetRulesHash({ ...base, timeoutMs: 99, concurrency: 7 })).toBe(targetRulesHash(base));
  });
  it.each<[string, Partial<TargetConfig>]>([
    ['a mapping', { mappings: [{ target: 'title', source: 'userType', default: 'Boss' }] }],
    ['applyOn', { mappings: [{ target: 'title', source: 'userType', default: 'Staff', applyOn: 'create' }] }],
    ['the scope', { scope: 'active eq false' }],
    ['the group selection', { groups: 'none' }],
    ['pass-through', { passThrough: 'none' }],
    ['resource types', { resourceTypes: ['User'] }],
  ])('should change with %s', (_name, change) => {
    expect(targetRulesHash({ ...base, ...change })).not.toBe(targetRulesHash(base));
  });
});

describe('DiffIntent', () => {
  const intentOf = (t: TargetConfig) => compileTargetRules(t).intent('User');
  it.each<[string, TargetConfig, string, RemovalIntent]>([
    ['should remove a pass-through core attribute', target(), 'title', 'remove'],
    ['should remove a pass-through enterprise attribute', target(), `${ENT}:department`, 'remove'],
    ['should keep another extension under pass-through', target(), `${HR}:costCenter`, 'keep'],
    ['should keep an attribute no longer mapped', target({ passThrough: 'none', mappings: [{ target: 'userName', source: 'userName' }] }), 'title', 'keep'],
    ['should remove a mapped attribute', target({ passThrough: 'none', mappings: [{ target: 'title', source: 'title' }] }), 'TITLE', 'remove'],
    ['should descend into a complex attribute mapped per sub-attribute', target({ passThrough: 'none', mappings: [{ target: 'name.givenName', source: 'name.givenName' }] }), 'name', 'descend'],
    ['should remove the mapped sub-attribute', target({ passThrough: 'none', mappings: [{ target: 'name.givenName', source: 'name.givenName' }] }), 'name.givenName', 'remove'],
    ['should keep an unmapped sub-attribute', target({ passThrough: 'none', mappings: [{ target: 'name.givenName', source: 'name.givenName' }] }), 'name.familyName', 'keep'],
    ['should keep a create-only attribute', target({ mappings: [{ target: 'userType', value: 'Employee', applyOn: 'create' }] }), 'userType', 'keep'],
    ['should descend around a create-only sub-attribute', target({ mappings: [{ target: 'name.givenName', source: 'name.givenName', applyOn: 'create' }] }), 'name', 'descend'],
    ['should keep the create-only sub-attribute', target({ mappings: [{ target: 'name.givenName', source: 'name.givenName', applyOn: 'create' }] }), 'name.givenname', 'keep'],
    ['should remove the rest of that complex attribute', target({ mappings: [{ target: 'name.givenName', source: 'name.givenName', applyOn: 'create' }] }), 'name.familyName', 'remove'],
    ['should own a whole multi-valued attribute written through a valuePath', target({ passThrough: 'none', mappings: [{ target: 'emails[type eq "work"].value', source: 'userName' }] }), 'emails', 'remove'],
  ])('%s', (_name, t, path, expected) => {
    expect(intentOf(t).removal(path)).toBe(expected);
  });
});

describe('switchboard.example.yaml', () => {
  it('should compile every target\'s mappings, scope and groups', () => {
    const doc = parse(readFileSync(resolve(__dirname, '../../switchboard.example.yaml'), 'utf8'));
    const config = buildAppConfig(doc, loadEnv({ DATABASE_URL: 'sqlite::memory:', REDIS_URL: 'redis://127.0.0.1:6379' }));
    const rules = compileTargetRules(config.targets[0]!);
    expect(rules.mappings.map(m => [m.target.attr, m.applyOn])).toEqual([
      ['title', 'always'], ['displayName', 'always'], ['nickName', 'always'], ['phoneNumbers', 'always'], ['userType', 'create'],
    ]);
  });
});
