import { parseArgs } from 'node:util';
import type { DownstreamApp } from './downstream-app.js';
import { startScimmyApp } from './scimmy-app.js';
import { startStrictApp } from './strict-app.js';

const USAGE = 'usage: node dist/test/downstream/serve.js scimmy|strict [--port N] --token T';

/**
 * Demo entry: starts one downstream app and prints its base URL (one line on stdout) once it listens.
 * Runs until SIGINT/SIGTERM.
 */
export async function main(argv: string[] = process.argv.slice(2)): Promise<DownstreamApp> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { port: { type: 'string', default: '0' }, token: { type: 'string' } },
  });
  const kind = positionals[0];
  const port = Number(values.port);
  if ((kind !== 'scimmy' && kind !== 'strict') || !values.token || !Number.isInteger(port) || port < 0) throw new Error(USAGE);
  const start = kind === 'scimmy' ? startScimmyApp : startStrictApp;
  const app = await start({ port, token: values.token });
  process.stdout.write(`${app.url}\n`);
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return app;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
