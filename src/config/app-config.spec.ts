import { buildAppConfig } from './app-config.js';
import { ConfigError } from './config.error.js';
import { loadEnv } from './env.js';

const env = loadEnv({});
const target = { id: 'app-one', baseUrl: 'http://127.0.0.1:9001/scim/v2', auth: { type: 'bearer', tokenEnv: 'APP_ONE_TOKEN' } };

describe(buildAppConfig.name, () => {
  it('should apply defaults when a target gives only id, baseUrl and auth', () => {
    const c = buildAppConfig({ targets: [target] }, env);
    expect(c.targets[0]).toMatchObject({
      id: 'app-one', resourceTypes: ['User', 'Group'], passThrough: 'core', mappings: [],
      deprovision: { onDeactivate: 'disable', onOutOfScope: 'disable', onDelete: 'disable' },
      retry: { attempts: 8, backoffMs: 1000 }, circuit: { failureThreshold: 5, probeIntervalMs: 5000 },
    });
  });

  it.each([
    ['delete', { onDeactivate: 'delete', onOutOfScope: 'delete', onDelete: 'delete' }],
    [{ onDelete: 'delete' }, { onDeactivate: 'disable', onOutOfScope: 'disable', onDelete: 'delete' }],
  ])('should expand deprovision %j', (deprovision, expected) => {
    expect(buildAppConfig({ targets: [{ ...target, deprovision }] }, env).targets[0].deprovision).toEqual(expected);
  });

  it('should list every bad key in one error, unknown keys included, and never a value', () => {
    const doc = {
      clients: [{ id: 'Okta!', tokenEnv: 'okta token', scopes: ['scim:everything'] }],
      targets: [
        { ...target, baseUrl: 'not a url', deprovision: 'archive', mappings: [{ target: 'title' }], bogus: 1 },
        { ...target, auth: { type: 'bearer' } },
      ],
      extra: true,
    };
    let err: ConfigError | undefined;
    try { buildAppConfig(doc, env); } catch (e) { err = e as ConfigError; }
    expect(err).toBeInstanceOf(ConfigError);
    const text = err!.problems.join('\n');
    for (const key of ['clients[0].id', 'clients[0].tokenEnv', 'clients[0].scopes', 'targets[0].baseUrl', 'targets[0].deprovision',
      'targets[0].mappings[0]', 'targets[0].bogus', 'targets[1].auth.tokenEnv', 'extra', 'targets: duplicate id "app-one"']) {
      expect(text).toContain(key);
    }
    expect(err!.problems.length).toBeGreaterThanOrEqual(10);
  });

  it('should reject a top level that is not a mapping', () => {
    expect(() => buildAppConfig(['a'], env)).toThrow(ConfigError);
  });
});

describe(loadEnv.name, () => {
  it('should default every variable', () => {
    expect(loadEnv({})).toEqual({
      databaseUrl: 'sqlite:./var/switchboard.sqlite', redisUrl: 'redis://127.0.0.1:6379', port: 8080, healthPort: 9464, configPath: './switchboard.yaml',
      queuePrefix: 'switchboard', logLevel: 'info', publicBaseUrl: undefined,
    });
  });

  it('should name each bad variable without its value', () => {
    try {
      loadEnv({ DATABASE_URL: 'mysql://secret@x', REDIS_URL: 'http://x', PORT: '99999', QUEUE_PREFIX: 'a:b' });
      throw new Error('expected a ConfigError');
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).toContain('DATABASE_URL');
      expect(msg).toContain('REDIS_URL');
      expect(msg).toContain('PORT');
      expect(msg).toContain('QUEUE_PREFIX');
      expect(msg).not.toContain('secret');
    }
  });
});
