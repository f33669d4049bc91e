/** Shared helpers of the benchmarks in bench/: arguments, percentiles, the realistic user, outbox wait. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DbService } from '../src/db/db.service.js';

export const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const DEPTS = ['R&D', 'Sales', 'Finance', 'Support', 'Marketing', 'People', 'Legal', 'Operations'];

/** `--name value` from argv, or `dflt`. */
export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

/** True when `--name` is on the command line. */
export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

export function sorted(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Nearest-rank percentile of ascending `values`. */
export function percentile(values: number[], p: number): number {
  return values[Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1))]!;
}

/**
 * User `i` as an IdP sends it: two emails, name, title (10 % Manager), active (2 % not), enterprise
 * employeeNumber, department (8 values), costCenter. `tag` keeps userNames unique across runs.
 */
export function benchUser(i: number, tag = ''): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENT],
    userName: `user${tag}${i}@bench.example.com`, externalId: `ext-${tag}${i}`,
    name: { givenName: `Given${i}`, familyName: `Family${i % 5000}` }, displayName: `Given${i} Family${i % 5000}`,
    emails: [{ value: `user${tag}${i}@bench.example.com`, type: 'work', primary: true }, { value: `u${tag}${i}@home.example.org`, type: 'home' }],
    title: i % 10 ? 'Engineer' : 'Manager', active: i % 50 !== 0,
    [ENT]: { employeeNumber: String(100000 + i), department: DEPTS[i % DEPTS.length], costCenter: `CC-${i % 97}` },
  };
}

/** Waits until the relay has published every outbox row (and the fan-out has had a moment), so the worker is idle. */
export async function waitForOutbox(store: DbService, label: string): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const [row] = await store.manager.query('SELECT COUNT(*) AS n FROM change_event WHERE published_at IS NULL') as Array<{ n: number | string }>;
    if (Number(row!.n) === 0) break;
    await sleep(1000);
  }
  await sleep(3000);
  process.stderr.write(`  ${label} after ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}
