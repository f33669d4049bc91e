import { ConfigError } from './config.error.js';
import { loadEnv } from './env.js';

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadEnv(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('loadEnv', () => {
  it('says a non-numeric port must be an integer, not that it is too large', () => {
    expect(problems({ PORT: 'abc', HEALTH_PORT: '9464x' })).toEqual([
      'PORT: PORT must be an integer (0-65535)',
      'HEALTH_PORT: HEALTH_PORT must be an integer (0-65535)',
    ]);
    expect(problems({ PORT: '80.5' })).toEqual(['PORT: PORT must be an integer (0-65535)']);
  });

  it('reports an out-of-range port with its bound', () => {
    expect(problems({ PORT: '70000' })).toEqual(['PORT: PORT must not be greater than 65535']);
    expect(problems({ HEALTH_PORT: '-1' })).toEqual(['HEALTH_PORT: HEALTH_PORT must not be less than 0']);
  });

  it('takes valid ports as numbers', () => {
    expect(loadEnv({ PORT: '8081', HEALTH_PORT: '0' })).toEqual(expect.objectContaining({ port: 8081, healthPort: 0 }));
  });
});
