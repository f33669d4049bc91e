#!/usr/bin/env node
import 'reflect-metadata';
import { Command } from 'commander';
import { DataSource } from 'typeorm';
import { loadConfig, missingSecrets } from '../config/app-config.js';
import { ConfigError } from '../config/config.error.js';
import { loadEnv, Role } from '../config/env.js';
import { dataSourceOptions } from '../db/data-source.js';
import { startSwitchboard } from '../main.js';
import { registerPreviewCommand } from './preview.command.js';

/**
 * Exit after this long if a graceful shutdown hangs (e.g. Redis unreachable, stack-notes §3). Longer
 * than a push's HTTP timeout, shorter than Kubernetes' 40 s terminationGracePeriodSeconds.
 */
const SHUTDOWN_WATCHDOG_MS = 30_000;

function fail(e: unknown): never {
  if (e instanceof ConfigError) {
    console.error(`switchboard: ${e.message}`);
  } else {
    console.error(`switchboard: ${(e as Error)?.stack ?? e}`);
  }
  process.exit(1);
}

async function run(role: Role): Promise<void> {
  const sb = await startSwitchboard({ role }).catch(fail);
  const stop = (signal: string) => {
    setTimeout(() => process.exit(1), SHUTDOWN_WATCHDOG_MS).unref();
    console.error(`switchboard: ${signal}, shutting down`);
    void sb.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  const port = new URL(sb.url).port;
  console.error(`switchboard: role ${role} listening on port ${port} (all interfaces)`);
}

const program = new Command('switchboard')
  .description('Identity provisioning gateway: SCIM 2.0 in, SCIM 2.0 out to many apps.');

for (const [role, what] of [['all', 'API and worker in one process (laptop, demo; the only role on SQLite)'], ['api', 'the HTTP API: /scim/v2, /health'], ['worker', 'the pipeline: outbox relay, fan-out, pushes, sweep']] as const) {
  program.command(role).description(what).action(() => run(role));
}

program.command('migrate').description('run database migrations and exit').action(async () => {
  try {
    const ds = new DataSource(dataSourceOptions(loadEnv()));
    await ds.initialize();
    const done = await ds.runMigrations();
    console.log(`switchboard: ${done.length} migration(s) applied`);
    await ds.destroy();
  } catch (e) { fail(e); }
});

program.command('check-config').description('validate env and switchboard.yaml, then exit').action(() => {
  try {
    const c = loadConfig();
    const missing = missingSecrets(c);
    if (missing.length) {
      console.error(`switchboard: configuration valid, but these environment variables are unset:\n${missing.map(m => `  - ${m}`).join('\n')}`);
      process.exit(1);
    }
    console.log(`switchboard: configuration OK (${c.clients.length} clients, ${c.targets.length} targets)`);
  } catch (e) { fail(e); }
});

registerPreviewCommand(program);

void program.parseAsync(process.argv.length > 2 ? process.argv : [...process.argv, 'all']);
