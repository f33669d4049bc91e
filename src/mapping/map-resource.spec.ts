import type { MappingConfig, TargetConfig } from '../config/app-config.js';
import { ENTERPRISE_USER_SCHEMA as ENT, GROUP_SCHEMA, USER_SCHEMA } from '../scim/scim.constants.js';
import { CanonicalResource, createPayloadOf, mapResource, MappedResource } from './map-resource.js';
import { ConfigError } from '../config/config.error.js';
import { MappingError, MappingErrorCode } from './mapping.error.js';
import { compileTargetRules } from './target-rules.js';

const CUSTOM = 'urn:acme:params:scim:schemas:extension:custom:1.0:User';

function targetWith(passThrough: 'core' | 'none', mappings: MappingConfig[] = []): TargetConfig {
  return {
    id: 'app',
    baseUrl: 'https://app.example/scim/v2',
    auth: { type: 'none' },
    resourceTypes: ['User', 'Group'],
    deprovision: { onDeactivate: 'disable', onOutOfScope: 'disable', onDelete: 'delete' },
    passThrough,
    mappings,
    timeoutMs: 1000,
    concurrency: 1,
    retry: { attempts: 1, backoffMs: 1, maxBackoffMs: 1 },
    circuit: { failureThreshold: 1, probeIntervalMs: 1 },
  };
}

const user = (doc: Record<string, unknown> = {}): CanonicalResource => ({
  id: 'u-1',
  resourceType: 'User',
  doc: {
    schemas: [USER_SCHEMA, ENT],
    id: 'u-1',
    externalId: 'okta-00u1',
    meta: { resourceType: 'User', version: 'W/"3"' },
    userName: 'jdoe@example.com',
    name: { givenName: 'Jane', familyName: 'Doe' },
    emails: [
      { value: 'jdoe@example.com', type: 'work', primary: true },
      { value: 'jane@home.example', type: 'home' },
    ],
    active: true,
    title: 'Engineer',
    password: 'hunter2',
    groups: [{ value: 'g-1', display: 'Eng' }],
    [ENT]: { department: 'R&D', employeeNumber: '42' },
    [CUSTOM]: { costCenter: 'CC-1' },
    ...doc,
  },
});

const group: CanonicalResource = {
  id: 'g-1',
  resourceType: 'Group',
  doc: {
    schemas: [GROUP_SCHEMA],
    id: 'g-1',
    meta: { resourceType: 'Group' },
    displayName: 'Engineering',
    members: [{ value: 'u-1', display: 'Jane' }, { value: 'u-2', type: 'User' }, { value: 'u-1' }],
  },
};

const corePayload = {
  schemas: [USER_SCHEMA, ENT],
  externalId: 'u-1',
  userName: 'jdoe@example.com',
  name: { givenName: 'Jane', familyName: 'Doe' },
  emails: [
    { value: 'jdoe@example.com', type: 'work', primary: true },
    { value: 'jane@home.example', type: 'home' },
  ],
  active: true,
  title: 'Engineer',
  [ENT]: { department: 'R&D', employeeNumber: '42' },
};

describe(mapResource.name, () => {
  it.each<[string, CanonicalResource, TargetConfig, MappedResource]>([
    ['should pass core and enterprise attributes through, minus id, meta, groups, password and other extensions, when passThrough is core',
      user(), targetWith('core'), { payload: corePayload }],
    ['should list only the core schema when no enterprise attribute is present',
      user({ [ENT]: undefined }), targetWith('core'),
      { payload: { ...corePayload, schemas: [USER_SCHEMA], [ENT]: undefined } }],
    ['should drop an empty enterprise extension',
      user({ [ENT]: { department: null } }), targetWith('core'),
      { payload: { ...corePayload, schemas: [USER_SCHEMA], [ENT]: undefined } }],
    ['should emit only schemas and externalId when passThrough is none and nothing is mapped',
      user(), targetWith('none'), { payload: { schemas: [USER_SCHEMA], externalId: 'u-1' } }],
    ['should copy mapped attributes when passThrough is none',
      user(), targetWith('none', [{ target: 'userName', source: 'userName' }, { target: 'name.givenName', source: 'name.givenName' }]),
      { payload: { schemas: [USER_SCHEMA], externalId: 'u-1', userName: 'jdoe@example.com', name: { givenName: 'Jane' } } }],
    ['should resolve the source case-insensitively',
      user(), targetWith('none', [{ target: 'displayName', source: 'NAME.GIVENNAME' }, { target: 'nickName', source: 'UserName' }]),
      { payload: { schemas: [USER_SCHEMA], externalId: 'u-1', displayName: 'Jane', nickName: 'jdoe@example.com' } }],
    ['should set a constant value',
      user(), targetWith('none', [{ target: 'userType', value: 'Employee' }]),
      { payload: { schemas: [USER_SCHEMA], externalId: 'u-1', userType: 'Employee' } }],
    ['should read and write URN-qualified enterprise attributes and list the extension schema',
      user(), targetWith('none', [{ target: `${ENT}:department`, source: `${ENT.toLowerCase()}:DEPARTMENT` }]),
      { payload: { schemas: [USER_SCHEMA, ENT], externalId: 'u-1', [ENT]: { department: 'R&D' } } }],
    ['should move an enterprise attribute into a core attribute',
      user(), targetWith('core', [{ target: 'title', source: `${ENT}:department` }]),
      { payload: { ...corePayload, title: 'R&D' } }],
    ['should treat the core schema URN as a prefix of a core attribute',
      user(), targetWith('none', [{ target: `${USER_SCHEMA}:displayName`, source: `${USER_SCHEMA}:name.familyName` }]),
      { payload: { schemas: [USER_SCHEMA], externalId: 'u-1', displayName: 'Doe' } }],
    ['should read through a valuePath filter',
      user(), targetWith('none', [{ target: 'userName', source: 'emails[type eq "HOME"].value' }]),
      { payload: { schemas: [USER_SCHEMA], externalId: 'u-1', userName: 'jane@home.example' } }],
    ['should read through a boolean valuePath filter',
      user(), targetWith('none', [{ target: 'userName', source: 'emails[primary eq true].value' }]),
      { payload: { schemas: [USER_SCHEMA], externalId: 'u-1', userName: 'jdoe@example.com' } }],
    ['should write into the matching element of a valuePath target',
      user(), targetWith('core', [{ target: 'emails[type eq "work"].value', value: 'jane.doe@example.com' }]),
      { payload: { ...corePayload, emails: [{ value: 'jane.doe@example.com', type: 'work', primary: true }, { value: 'jane@home.example', type: 'home' }] } }],
    ['should append an element when no element matches a valuePath target',
      user(), targetWith('none', [{ target: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0100' }, { target: 'emails[type eq "work"].value', source: 'userName' }]),
      { payload: { schemas: [USER_SCHEMA], externalId: 'u-1', phoneNumbers: [{ type: 'mobile', value: '+1 555 0100' }], emails: [{ type: 'work', value: 'jdoe@example.com' }] } }],
    ['should remove the matching element when its value maps to null',
      user(), targetWith('core', [{ target: 'emails[type eq "home"].value', value: null }]),
      { payload: { ...corePayload, emails: [{ value: 'jdoe@example.com', type: 'work', primary: true }] } }],
    ['should use the default when the source is absent',
      user(), targetWith('none', [{ target: 'userType', source: 'userType', default: 'Contractor' }]),
      { payload: { schemas: [USER_SCHEMA], externalId: 'u-1', userType: 'Contractor' } }],
    ['should use the default when the source is null',
      user({ title: null }), targetWith('none', [{ target: 'title', source: 'title', default: 'Staff' }]),
      { payload: { schemas: [USER_SCHEMA], externalId: 'u-1', title: 'Staff' } }],
    ['should remove a passed-through attribute when its mapped source is absent',
      user(), targetWith('core', [{ target: 'title', source: 'nickName' }]),
      { payload: { ...corePayload, title: undefined } }],
    ['should remove a passed-through attribute mapped to a null value',
      user(), targetWith('core', [{ target: `${ENT}:employeeNumber`, value: null }, { target: `${ENT}:department`, value: null }]),
      { payload: { ...corePayload, schemas: [USER_SCHEMA], [ENT]: undefined } }],
    ['should remove a sub-attribute mapped to null',
      user(), targetWith('core', [{ target: 'name.familyName', value: null }]),
      { payload: { ...corePayload, name: { givenName: 'Jane' } } }],
    ['should list a custom extension schema written by a mapping',
      user(), targetWith('none', [{ target: `${CUSTOM}:costCenter`, source: `${CUSTOM}:costCenter` }]),
      { payload: { schemas: [USER_SCHEMA, CUSTOM], externalId: 'u-1', [CUSTOM]: { costCenter: 'CC-1' } } }],
    ['should let a mapping override the outbound externalId',
      user(), targetWith('none', [{ target: 'externalId', source: 'externalId' }]),
      { payload: { schemas: [USER_SCHEMA], externalId: 'okta-00u1' } }],
    ['should copy a multi-valued source whole',
      user(), targetWith('none', [{ target: 'emails', source: 'emails' }]),
      { payload: { schemas: [USER_SCHEMA], externalId: 'u-1', emails: corePayload.emails } }],
    ['should keep group members out of the payload and expose their canonical ids once each',
      group, targetWith('core'),
      { payload: { schemas: [GROUP_SCHEMA], externalId: 'g-1', displayName: 'Engineering' }, members: ['u-1', 'u-2'] }],
    ['should expose group members when passThrough is none',
      group, targetWith('none', [{ target: 'displayName', source: 'displayName', resourceType: 'Group' }]),
      { payload: { schemas: [GROUP_SCHEMA], externalId: 'g-1', displayName: 'Engineering' }, members: ['u-1', 'u-2'] }],
    ['should expose no members for a group without members',
      { ...group, doc: { displayName: 'Empty' } }, targetWith('core'),
      { payload: { schemas: [GROUP_SCHEMA], externalId: 'g-1', displayName: 'Empty' }, members: [] }],
  ])('%s', async (_name, resource, target, expected) => {
    const before = structuredClone(resource);
    const mapped = await mapResource(resource, target);
    expect(mapped).toEqual(expected);
    expect(resource).toEqual(before);
  });

  it('should put schemas first and externalId second', async () => {
    expect(Object.keys((await mapResource(user(), targetWith('core'))).payload).slice(0, 2)).toEqual(['schemas', 'externalId']);
  });

  it.each<[string, MappingConfig, MappingErrorCode]>([
    ['an empty path', { target: '', value: 'x' }, MappingErrorCode.InvalidPath],
    ['a path with two dots', { target: 'name.givenName.x', value: 'x' }, MappingErrorCode.InvalidPath],
    ['a filter with another operator', { target: 'emails[type co "w"].value', value: 'x' }, MappingErrorCode.UnsupportedTarget],
    ['an unterminated filter', { target: 'emails[type eq "w".value', value: 'x' }, MappingErrorCode.InvalidPath],
    ['an unquoted string literal', { target: 'emails[type eq work].value', value: 'x' }, MappingErrorCode.InvalidPath],
    ['an invalid source path', { target: 'title', source: 'name..x' }, MappingErrorCode.InvalidPath],
    ['the hashed password as a source', { target: 'title', source: 'password' }, MappingErrorCode.InvalidPath],
    ['a typo in a source attribute', { target: 'title', source: 'departmnt' }, MappingErrorCode.UnknownAttribute],
    ['members as a target', { target: 'members', value: [] }, MappingErrorCode.ReservedTarget],
    ['schemas as a target', { target: 'schemas', value: [] }, MappingErrorCode.ReservedTarget],
    ['id as a target', { target: 'ID', value: 'x' }, MappingErrorCode.ReservedTarget],
    ['a sub-attribute of every value', { target: 'emails.value', value: 'x' }, MappingErrorCode.UnsupportedTarget],
  ])('should reject %s at compile time with a ConfigError naming target and entry', (_name, mapping, code) => {
    const path = mapping.target === 'title' ? mapping.source! : mapping.target;
    const expected = new MappingError(code, path).message.split(':')[0]!;
    const call = () => compileTargetRules(targetWith('core', [mapping]));
    expect(call).toThrow(ConfigError);
    expect(call).toThrow(`target app: mappings[0] (${mapping.target}): ${expected}`);
  });
});

describe('an unknown source attribute', () => {
  it('should name the attribute (and its schema when the path has no URN) without the path syntax hint', () => {
    const message = (source: string) => {
      try {
        compileTargetRules(targetWith('core', [{ target: 'title', source }]));
      } catch (e) {
        return (e as ConfigError).problems;
      }
      return [];
    };
    expect(message('name.givenNme')).toEqual(['target app: mappings[0] (title): unknown attribute name.givenNme in schema urn:ietf:params:scim:schemas:core:2.0:User']);
    expect(message('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCentre')).toEqual(['target app: mappings[0] (title): unknown attribute urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCentre']);
    expect(message('name..x')[0]).toContain('is not a SCIM attribute path (attr, attr.sub');
  });
});

describe('mapResource with expressions, applyOn and references', () => {
  it('should map an expression and fall back to default when it yields nothing or null', async () => {
    const mapped = await mapResource(user(), targetWith('none', [
      { target: 'displayName', expression: 'name.givenName & " " & $uppercase(name.familyName)' },
      { target: 'nickName', expression: 'nickName', default: 'n/a' },
      { target: 'title', expression: '$enterprise.costCenter ? $enterprise.costCenter : null', default: 'Staff' },
      { target: 'userType', expression: '$switch($enterprise.employeeNumber, "42", "Founder", "Employee")' },
    ]));
    expect(mapped.payload).toEqual({ schemas: [USER_SCHEMA], externalId: 'u-1', displayName: 'Jane DOE', nickName: 'n/a', title: 'Staff', userType: 'Founder' });
  });

  it('should write an expression result into a valuePath element and an extension', async () => {
    const mapped = await mapResource(user(), targetWith('none', [
      { target: 'emails[type eq "work"].value', expression: '$lowercase($normalizeDiacritics("Zoë") & "@acme.example")' },
      { target: `${ENT}:costCenter`, expression: '$extension("urn:acme:params:scim:schemas:extension:custom:1.0:User").costCenter' },
    ]));
    expect(mapped.payload).toEqual({
      schemas: [USER_SCHEMA, ENT], externalId: 'u-1', emails: [{ type: 'work', value: 'zoe@acme.example' }], [ENT]: { costCenter: 'CC-1' },
    });
  });

  it('should show expressions id and meta from the store, never the password hash', async () => {
    const mapped = await mapResource({ ...user(), created: '2024-02-29T23:30:00Z', lastModified: '2025-01-01T00:00:00Z' }, targetWith('none', [
      { target: 'title', expression: '$formatDate(meta.created, "[D01].[M01].[Y0001]", "Europe/Berlin") & " " & id & " " & meta.resourceType' },
      { target: 'nickName', expression: '$coalesce(password, "none")' },
    ]));
    expect(mapped.payload).toMatchObject({ title: '01.03.2024 u-1 User', nickName: 'none' });
  });

  it('should select a source element with any filter operator, through the SCIM provider\'s evaluator', async () => {
    const mapped = await mapResource(user(), targetWith('none', [
      { target: 'nickName', source: 'emails[value ew "@HOME.example" and not (primary eq true)].value' },
      { target: 'title', source: 'emails[type sw "x"].value', default: 'none' },
    ]));
    expect(mapped.payload).toMatchObject({ nickName: 'jane@home.example', title: 'none' });
  });

  it('should pass the caller\'s groups to expressions', async () => {
    const mapped = await mapResource(user(), targetWith('none', [{ target: 'title', expression: '$join($groups.display, ",")' }]),
      { groups: [{ value: 'g-1', display: 'eng' }, { value: 'g-2', display: 'ops' }] });
    expect(mapped.payload.title).toBe('eng,ops');
  });

  it('should turn a failing expression into a MappingError for this resource', async () => {
    const t = targetWith('none', [{ target: 'title', expression: '$error("no title for " & userName)' }]);
    await expect(mapResource(user(), t)).rejects.toMatchObject({ name: 'MappingError', code: MappingErrorCode.ExpressionFailed, path: 'app.mappings[0] title' });
  });

  it('should keep applyOn create entries out of the pushed state and send them on create', async () => {
    const t = targetWith('core', [
      { target: 'userType', value: 'Employee', applyOn: 'create' },
      { target: 'name.givenName', expression: '$uppercase(name.givenName)', applyOn: 'create' },
      { target: 'nickName', source: 'nickName', default: 'jd', applyOn: 'create' },
    ]);
    const mapped = await mapResource(user(), t);
    expect(mapped.payload).toEqual({ ...corePayload, name: { familyName: 'Doe' } });
    expect(mapped.createOnly).toEqual({ userType: 'Employee', name: { givenName: 'JANE' }, nickName: 'jd' });
    const payload = { ...mapped.payload, active: false };
    expect(createPayloadOf(mapped, payload)).toEqual({ ...corePayload, active: false, userType: 'Employee', name: { familyName: 'Doe', givenName: 'JANE' }, nickName: 'jd' });
  });

  it('should list an extension written only on create in the create payload\'s schemas', async () => {
    const mapped = await mapResource(user({ [ENT]: undefined }), targetWith('core', [{ target: `${ENT}:employeeNumber`, value: 'E-1', applyOn: 'create' }]));
    expect(mapped.payload.schemas).toEqual([USER_SCHEMA]);
    expect(createPayloadOf(mapped).schemas).toEqual([USER_SCHEMA, ENT]);
  });

  it('should translate the manager to the id at the target and drop its $ref', async () => {
    const resolve = jest.fn(async (_type: string, id: string) => (id === 'u-9' ? 'remote-9' : undefined));
    const mapped = await mapResource(user({ [ENT]: { department: 'R&D', manager: { value: 'u-9', $ref: 'https://sb/Users/u-9', displayName: 'Boss' } } }),
      targetWith('core'), { resolveReference: resolve });
    expect(resolve).toHaveBeenCalledWith('User', 'u-9');
    expect(mapped.payload[ENT]).toEqual({ department: 'R&D', manager: { value: 'remote-9', displayName: 'Boss' } });
    expect(mapped.unresolved).toBeUndefined();
  });

  it('should leave out a manager without an account at the target and report it', async () => {
    const mapped = await mapResource(user({ [ENT]: { department: 'R&D', manager: { value: 'u-8' } } }), targetWith('core'),
      { resolveReference: async () => undefined });
    expect(mapped.payload[ENT]).toEqual({ department: 'R&D' });
    expect(mapped.unresolved).toEqual([{ path: `${ENT}:manager.value`, resourceType: 'User', id: 'u-8' }]);
  });

  it('should leave references untranslated without a resolver', async () => {
    const mapped = await mapResource(user({ [ENT]: { manager: { value: 'u-8' } } }), targetWith('core'));
    expect(mapped.payload[ENT]).toEqual({ manager: { value: 'u-8' } });
  });
});

describe('mapResource checks each mapped value against the target attribute type (RFC 7643 §2.3)', () => {
  it.each<[string, MappingConfig, string]>([
    ['an object for a string', { target: 'nickName', expression: '{ "a": userName }' }, 'nickName is an object, but the attribute is string'],
    ['a number for a string', { target: 'displayName', expression: '$length(userName)' }, 'displayName is a number, but the attribute is string (use $string() to convert)'],
    ['a string for a boolean', { target: 'active', expression: '"yes"' }, 'active is a string of 3 characters, but the attribute is boolean'],
    ['a list for a single-valued attribute', { target: 'title', expression: 'emails.value' }, 'title is a list of 2, but the attribute is single-valued string'],
    ['a boolean for an extension sub-attribute', { target: `${ENT}:manager.displayName`, expression: 'true' }, 'manager.displayName is a boolean'],
    ['a string element in a complex multi-valued attribute', { target: 'emails', expression: '["a@example.com"]' }, 'emails element 0: is a string of 13 characters, but the attribute is complex (an object)'],
    ['a wrong sub-attribute inside a complex value', { target: 'name', expression: '{ "givenName": 7 }' }, 'name sub-attribute givenName is a number'],
    ['a number into a valuePath sub-attribute', { target: 'emails[type eq "work"].primary', expression: '1' }, 'emails.primary is a number, but the attribute is boolean'],
  ])('should refuse %s with a MappingError naming target, entry and attribute, and send nothing', async (_name, mapping, detail) => {
    const t = targetWith('none', [{ target: 'title', value: 'ok' }, mapping]);
    const p = mapResource(user(), t);
    await expect(p).rejects.toThrow(MappingError);
    await expect(mapResource(user(), t)).rejects.toMatchObject({
      code: MappingErrorCode.TypeMismatch, path: `app.mappings[1] ${mapping.target}`, message: expect.stringContaining(detail),
    });
  });

  it('should pass values of the right type and wrap a single element for a multi-valued attribute', async () => {
    const mapped = await mapResource(user(), targetWith('none', [
      { target: 'displayName', expression: '$string($length(userName))' },
      { target: 'emails', expression: 'emails[type = "work"]' },
      { target: 'active', expression: 'active' },
      { target: 'name', expression: '{ "givenName": "J", "familyName": name.familyName }' },
      { target: 'urn:example:target-only:1.0:User:score', expression: '42' },
    ]));
    expect(mapped.payload).toMatchObject({
      displayName: '16', emails: [{ value: 'jdoe@example.com', type: 'work', primary: true }], active: true,
      name: { givenName: 'J', familyName: 'Doe' }, 'urn:example:target-only:1.0:User': { score: 42 },
    });
  });

  it('should refuse a constant value or default of the wrong type at start', () => {
    const call = () => compileTargetRules(targetWith('none', [{ target: 'active', value: 'yes' }, { target: 'nickName', source: 'nickName', default: 3 }]));
    expect(call).toThrow(ConfigError);
    expect(call).toThrow(expect.objectContaining({ problems: [
      'target app: mappings[0] (active): value for active is a string of 3 characters, but the attribute is boolean',
      'target app: mappings[1] (nickName): default for nickName is a number, but the attribute is string (use $string() to convert)',
    ] }));
  });
});
