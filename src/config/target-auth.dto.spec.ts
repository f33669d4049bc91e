import { buildAppConfig, missingSecrets } from './app-config.js';
import { ConfigError } from './config.error.js';
import { loadEnv } from './env.js';

const env = loadEnv({ DATABASE_URL: 'sqlite::memory:', REDIS_URL: 'redis://127.0.0.1:6379' });
const target = (extra: Record<string, unknown>) => ({ id: 'app', baseUrl: 'http://127.0.0.1:9/scim/v2', ...extra });

function problems(doc: unknown): string[] {
  try {
    buildAppConfig(doc, env);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
}

describe('targets[].auth and targets[].rateLimit', () => {
  const oauth = { type: 'oauth2-client-credentials', tokenUrl: 'https://idp.example.com/oauth2/token', clientIdEnv: 'APP_ID', clientSecretEnv: 'APP_SECRET' };

  it('should accept OAuth client credentials and default client auth to client_secret_basic', () => {
    const c = buildAppConfig({ targets: [target({ auth: { ...oauth, scope: 'scim.write', audience: 'https://app' } })] }, env);
    expect(c.targets[0].auth).toEqual({ ...oauth, scope: 'scim.write', audience: 'https://app', clientAuth: 'client_secret_basic' });
    expect(c.targets[0].rateLimit).toBeUndefined();
  });

  it('should name every missing or malformed OAuth key', () => {
    const p = problems({ targets: [target({ auth: { type: 'oauth2-client-credentials', tokenUrl: 'not a url', clientIdEnv: 'lower', clientAuth: 'private_key_jwt' } })] });
    expect(p).toEqual(expect.arrayContaining([
      expect.stringMatching(/^targets\[0\]\.auth\.tokenUrl: tokenUrl must be an http\(s\) URL/),
      expect.stringMatching(/^targets\[0\]\.auth\.clientIdEnv: clientIdEnv must name an environment variable/),
      expect.stringMatching(/^targets\[0\]\.auth\.clientSecretEnv: /),
      expect.stringMatching(/^targets\[0\]\.auth\.clientAuth: /),
    ]));
  });

  it('should check header auth and refuse secrets inlined in the file', () => {
    expect(problems({ targets: [target({ auth: { type: 'header', headerName: 'X Api Key', valueEnv: 'KEY' } })] }))
      .toEqual([expect.stringMatching(/^targets\[0\]\.auth\.headerName: headerName must be an HTTP header name/)]);
    expect(problems({ targets: [target({ auth: { type: 'bearer', tokenEnv: 'T', token: 'inline-secret' } })] }))
      .toEqual([expect.stringMatching(/^targets\[0\]\.auth\.token: .*should not exist/)]);
    expect(problems({ targets: [target({ auth: { type: 'kerberos' } })] })).toEqual([expect.stringMatching(/^targets\[0\]\.auth\.type: /)]);
  });

  it('should default rateLimit.perMs to one second and refuse windows under a second', () => {
    const c = buildAppConfig({ targets: [target({ auth: { type: 'none' }, rateLimit: { max: 20, concurrency: 3 } })] }, env);
    expect(c.targets[0].rateLimit).toEqual({ max: 20, perMs: 1000, concurrency: 3 });
    expect(problems({ targets: [target({ auth: { type: 'none' }, rateLimit: { max: 0, perMs: 500, concurrency: 0, burst: 3 } })] })).toEqual(expect.arrayContaining([
      expect.stringMatching(/^targets\[0\]\.rateLimit\.max: /),
      expect.stringMatching(/^targets\[0\]\.rateLimit\.perMs: /),
      expect.stringMatching(/^targets\[0\]\.rateLimit\.concurrency: /),
      expect.stringMatching(/^targets\[0\]\.rateLimit\.burst: .*should not exist/),
    ]));
  });

  it('should list the OAuth and header env vars in missingSecrets (check-config)', () => {
    const c = buildAppConfig({
      targets: [
        target({ auth: oauth }),
        target({ id: 'keyed', auth: { type: 'header', headerName: 'X-API-Key', valueEnv: 'KEYED_KEY' } }),
      ],
    }, env);
    expect(missingSecrets(c, { APP_ID: 'id' })).toEqual(['APP_SECRET (target app)', 'KEYED_KEY (target keyed)']);
    expect(missingSecrets(c, { APP_ID: 'id', APP_SECRET: 's', KEYED_KEY: 'k' })).toEqual([]);
  });
});
