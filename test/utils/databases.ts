import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/** Admin URL of the machine's PostgreSQL (trust auth); override with TEST_PG_ADMIN_URL. */
export const PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database made for one test suite, dropped by `drop()`. */
export interface TestDatabase { url: string; kind: 'sqlite' | 'postgres'; drop(): Promise<void> }

/** A fresh SQLite file in a temp folder. */
export function sqliteDatabase(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'sbtest-'));
  return { kind: 'sqlite', url: `sqlite:${join(dir, 'switchboard.sqlite')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh PostgreSQL database `sbtest_<random>` on the local server. */
export async function postgresDatabase(): Promise<TestDatabase> {
  const name = `sbtest_${randomBytes(5).toString('hex')}`;
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    kind: 'postgres',
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export function testDatabase(kind: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  return kind === 'sqlite' ? Promise.resolve(sqliteDatabase()) : postgresDatabase();
}

/** The store kinds a suite should run on: both, or SQLite only when PostgreSQL is absent outside CI. */
export function storeKinds(): Array<'sqlite' | 'postgres'> {
  return process.env.SB_TEST_POSTGRES === '0' ? ['sqlite'] : ['sqlite', 'postgres'];
}
