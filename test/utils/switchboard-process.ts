import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

const ROOT = resolve(__dirname, '..', '..');

/** A Switchboard CLI process run from the TypeScript sources (test/utils/swc-register.cjs). */
export interface SwitchboardProcess {
  /** Everything the process wrote to stdout and stderr so far (its logs). */
  output(): string;
  /** SIGTERM, then wait for exit (SIGKILL after 20 s). */
  stop(): Promise<void>;
  readonly child: ChildProcess;
}

/**
 * Starts `switchboard <role>` as a real child process with `configDoc` written to a temp
 * switchboard.yaml and the given env (DATABASE_URL, REDIS_URL, QUEUE_PREFIX, secrets, …). Resolves once
 * it listens; rejects with its output if it exits first or is not up within `timeoutMs`.
 */
export async function startSwitchboardProcess(
  role: 'api' | 'worker' | 'all', configDoc: unknown, env: Record<string, string>, timeoutMs = 60_000,
): Promise<SwitchboardProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-proc-'));
  const configPath = join(dir, 'switchboard.yaml');
  writeFileSync(configPath, stringify(configDoc));
  const child = spawn(process.execPath, ['-r', './test/utils/swc-register.cjs', 'src/cli/switchboard.ts', role], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HEALTH_PORT: '0', PORT: '0', LOG_LEVEL: 'info', ...env, SWITCHBOARD_CONFIG: configPath },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<void>(r => child.once('exit', () => r()));
  await new Promise<void>((resolveUp, reject) => {
    const timer = setTimeout(() => reject(new Error(`switchboard ${role} not up after ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = () => {
      if (/listening on port/.test(out)) {
        clearTimeout(timer);
        resolveUp();
      }
    };
    child.stderr!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`switchboard ${role} exited with ${child.exitCode}:\n${out}`));
    });
  });
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
