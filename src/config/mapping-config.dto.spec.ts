import { buildAppConfig } from './app-config.js';
import { ConfigError } from './config.error.js';
import { loadEnv } from './env.js';
import { normaliseTargetRules } from './mapping-config.dto.js';
import type { MappingDto } from './mapping-config.dto.js';

describe(normaliseTargetRules.name, () => {
  it('should apply defaults: applyOn always, resourceType User, groups all, schemaCheck error, no scope', () => {
    const problems: string[] = [];
    expect(normaliseTargetRules({ mappings: [{ target: 'title', source: 'userType', default: 'Staff' } as MappingDto] }, 'targets[0]', problems)).toEqual({
      mappings: [{ target: 'title', source: 'userType', default: 'Staff', applyOn: 'always', resourceType: 'User' }],
      groups: 'all',
      schemaCheck: 'error',
    });
    expect(problems).toEqual([]);
  });

  it('should keep scope, a group filter, schemaCheck and a create-only expression', () => {
    const problems: string[] = [];
    const out = normaliseTargetRules({
      mappings: [{ target: 'userType', expression: '"E"', applyOn: 'create', resourceType: 'User' } as MappingDto],
      scope: 'active eq true', groups: { filter: 'displayName sw "eng-"' }, schemaCheck: 'warn',
    }, 'targets[0]', problems);
    expect(out).toEqual({
      mappings: [{ target: 'userType', expression: '"E"', applyOn: 'create', resourceType: 'User' }],
      scope: 'active eq true', groups: { filter: 'displayName sw "eng-"' }, schemaCheck: 'warn',
    });
    expect(problems).toEqual([]);
  });

  it.each<[string, Parameters<typeof normaliseTargetRules>[0], string]>([
    ['no source, value or expression', { mappings: [{ target: 'title' } as MappingDto] }, 'targets[1].mappings[0] (title): needs exactly one of source, value or expression'],
    ['two kinds', { mappings: [{ target: 'title', source: 'x', expression: 'y' } as MappingDto] }, 'targets[1].mappings[0] (title): needs exactly one of source, value or expression'],
    ['an empty scope', { scope: ' ' }, 'targets[1].scope: must be a SCIM filter string'],
    ['a scope that is not a string', { scope: 42 }, 'targets[1].scope: must be a SCIM filter string'],
    ['groups as a list', { groups: ['eng'] }, "targets[1].groups: must be all, none or { filter: '<SCIM filter>' }"],
    ['groups with another key', { groups: { filter: 'x pr', extra: 1 } }, "targets[1].groups: must be all, none or { filter: '<SCIM filter>' }"],
    ['groups as another word', { groups: 'some' }, "targets[1].groups: must be all, none or { filter: '<SCIM filter>' }"],
    ['an unknown schemaCheck', { schemaCheck: 'strict' }, 'targets[1].schemaCheck: must be error, warn or off'],
  ])('should report %s', (_name, input, problem) => {
    const problems: string[] = [];
    normaliseTargetRules(input, 'targets[1]', problems);
    expect(problems).toEqual([problem]);
  });
});

describe('buildAppConfig with mappings', () => {
  const env = loadEnv({ DATABASE_URL: 'sqlite::memory:', REDIS_URL: 'redis://127.0.0.1:6379' });
  const target = (extra: Record<string, unknown>) => ({ id: 'app-one', baseUrl: 'http://127.0.0.1:9001/scim/v2', auth: { type: 'none' }, ...extra });

  it('should refuse to start on an invalid expression, a bad scope and an unknown source, naming target and entry', () => {
    const call = () => buildAppConfig({ targets: [target({
      scope: 'departmnt eq "R&D"',
      mappings: [
        { target: 'userName', source: 'userName' },
        { target: 'displayName', expression: '$upper(name.familyName)' },
        { target: 'title', source: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:departmnt' },
      ],
    })] }, env);
    expect(call).toThrow(ConfigError);
    expect(call).toThrow('target app-one: mappings[1] (displayName): mapping expression for "app-one.mappings[1] displayName" is invalid: unknown function $upper');
    expect(call).toThrow('target app-one: mappings[2] (title): unknown attribute urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:departmnt\n');
    expect(call).toThrow(/target app-one: scope: filter "departmnt eq "R&D"" is invalid/);
  });

  it('should normalise a valid target', () => {
    const config = buildAppConfig({ targets: [target({ mappings: [{ target: 'userType', value: 'Employee', applyOn: 'create' }], groups: 'none', schemaCheck: 'off' })] }, env);
    expect(config.targets[0]).toMatchObject({ mappings: [{ target: 'userType', value: 'Employee', applyOn: 'create', resourceType: 'User' }], groups: 'none', schemaCheck: 'off' });
  });
});
