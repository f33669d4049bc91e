/**
 * `npm run test:conformance`: runs the external SCIM suites from ../shared/conformance against a fresh
 * Switchboard (role all, SQLite, its own Redis prefix), as they are, with ../shared/tools' runner:
 * - Okta's SCIM 2.0 SPEC test (Runscope export) with one seeded user: must be 12 passed, 0 failed;
 * - Microsoft's SCIMReferenceCode Postman collection with newman on an empty store: at least 95 of 103
 *   assertions, and every failure must be one of docs/conformance.md's justified ones.
 * Skips with a message (exit 0) when ../shared is absent, unless CI is set (then exit 1).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { buildAppConfig } from '../src/config/app-config.js';
import { loadEnv } from '../src/config/env.js';
import { startSwitchboard } from '../src/main.js';
import { deleteKeysWithPrefix } from './lib/redis-keys.js';

const SHARED = resolve(process.env.SWITCHBOARD_SHARED ?? '../shared');
const TOKEN = 'conformance-token';
/** Postman assertions that encode the .NET reference server, not RFC 7644 (see docs/conformance.md). */
export const JUSTIFIED_POSTMAN_FAILURES = [
  'Endpoint tests / Get ServiceProviderConfig :: Status code is 200',
  'Endpoint tests / Get ServiceProviderConfig :: Pach supported is true',
  'Group tests / Get group by id :: Body contians user',
  'User tests with garbage / Patch user omalley new username :: Status code is 204',
  'User tests with garbage / patch user omalley active with boolean :: Status code is 204',
  'Group tests with garbage / Group patch add member :: Status code is 204',
  'Group tests with garbage / Group patch add member2 :: Status code is 204',
];
const POSTMAN_MIN_PASSED = 95;

/** Runs a command without blocking this process's event loop (the server under test lives here). */
function run(cmd: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise(resolveRun => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolveRun({ status: err ? Number((err as { code?: unknown }).code ?? 1) || 1 : 0, stdout, stderr });
    });
  });
}

async function withSwitchboard<T>(fn: (baseUrl: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-conformance-'));
  const prefix = `conformance-${randomBytes(3).toString('hex')}`;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  process.env.SB_CONFORMANCE_TOKEN = TOKEN;
  const env = loadEnv({ DATABASE_URL: `sqlite:${join(dir, 'sb.sqlite')}`, REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' });
  const config = buildAppConfig({ clients: [{ id: 'conformance', tokenEnv: 'SB_CONFORMANCE_TOKEN', scopes: ['scim:read', 'scim:write'] }] }, env);
  const sb = await startSwitchboard({ role: 'all', config, port: 0, host: '127.0.0.1' });
  try {
    return await fn(`${sb.url}/scim/v2`);
  } finally {
    await sb.close();
    await deleteKeysWithPrefix(redisUrl, prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function okta(): Promise<boolean> {
  return withSwitchboard(async base => {
    const seed = await request(`${base}/Users`, {
      method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'seed.user@atko.com', name: { givenName: 'Seed', familyName: 'User' }, emails: [{ value: 'seed.user@atko.com', type: 'work', primary: true }], active: true }),
    });
    await seed.body.text();
    const res = await run(process.execPath, [join(SHARED, 'tools/runscope-run.mjs'), join(SHARED, 'conformance/okta-runscope/Okta-SCIM-20-SPEC-Test.json'),
      '--var', `SCIMBaseURL=${base}`, '--var', `auth=Bearer ${TOKEN}`]);
    process.stdout.write(res.stdout);
    const ok = res.status === 0 && /^12 passed, 0 failed$/m.test(res.stdout);
    console.log(`okta-spec: ${ok ? 'PASS' : 'FAIL'} (needs 12 passed, 0 failed)`);
    return ok;
  });
}

async function postman(): Promise<boolean> {
  return withSwitchboard(async base => {
    const url = new URL(base);
    const out = join(mkdtempSync(join(tmpdir(), 'sb-newman-')), 'report.json');
    const dir = join(SHARED, 'conformance/azure-scimreferencecode-postman');
    const folders = ['Endpoint tests', 'User tests', 'Group tests', 'ComplexAttribute tests', 'User tests with garbage', 'Group tests with garbage', 'Teardown garbage'];
    const res = await run(resolve('node_modules/.bin/newman'), ['run', join(dir, 'PostmanCollection.json'), '-e', join(dir, 'local.postman_environment.json'),
      '--env-var', `Port=:${url.port}`, '--env-var', `token=${TOKEN}`, ...folders.flatMap(f => ['--folder', f]),
      '--reporters', 'json', '--reporter-json-export', out]);
    if (!existsSync(out)) { console.error(res.stderr || res.stdout); return false; }
    const report = JSON.parse(readFileSync(out, 'utf8')) as { run: { stats: { assertions: { total: number; failed: number } }; failures: Array<{ source: { name: string }; parent?: { name: string }; error: { test: string; message: string } }> } };
    const { total, failed } = report.run.stats.assertions;
    const failures = report.run.failures.map(f => `${f.parent?.name ? `${f.parent.name} / ` : ''}${f.source.name} :: ${f.error.test}`);
    const unexpected = failures.filter(f => !JUSTIFIED_POSTMAN_FAILURES.includes(f));
    for (const f of failures) console.log(`  ${unexpected.includes(f) ? 'UNEXPECTED' : 'justified '} ${f}`);
    const ok = total - failed >= POSTMAN_MIN_PASSED && unexpected.length === 0;
    console.log(`postman: ${total - failed} passed, ${failed} failed of ${total} assertions — ${ok ? 'PASS' : 'FAIL'} (needs ≥ ${POSTMAN_MIN_PASSED} and only justified failures)`);
    return ok;
  });
}

async function main(): Promise<number> {
  if (!existsSync(join(SHARED, 'conformance')) || !existsSync(join(SHARED, 'tools/runscope-run.mjs'))) {
    const msg = `test:conformance: ${SHARED}/conformance is not here (the external suites live in the project's shared folder beside the repo)`;
    if (process.env.CI) { console.error(`${msg}; CI must have it.`); return 1; }
    console.log(`${msg}; skipped.`);
    return 0;
  }
  const results = [await okta(), await postman()];
  return results.every(Boolean) ? 0 : 1;
}

main().then(code => process.exit(code), e => { console.error(e); process.exit(1); });
