import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DataSource } from 'typeorm';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../config/config.error.js';
import { loadEnv } from '../config/env.js';
import { dataSourceOptions } from '../db/data-source.js';
import { DbService } from '../db/db.service.js';
import { PREVIEW_OUTCOMES, PreviewReport } from '../mapping/preview.js';
import { resolveCandidateTarget, runPreview } from '../ops/admin/preview.runner.js';

/** Options of `switchboard preview`. */
export interface PreviewCommandOptions {
  file: string;
  targetId?: string;
  json?: boolean;
  match?: boolean;
  samples?: string;
  values?: boolean;
}

/**
 * `switchboard preview -f target.yaml [--target-id id] [--json]`: the dry run of the admin API
 * (`POST /admin/targets/{id}/preview`) against the configured database (DATABASE_URL), without a running
 * api. The file holds one target block, or a `targets:` list (pick one with `--target-id`). Read-only:
 * no migration runs, nothing is written, nothing is enqueued.
 */
export function registerPreviewCommand(program: Command): void {
  program.command('preview')
    .description('dry run: what deploying a target block would create / update / deprovision, over the whole population')
    .requiredOption('-f, --file <path>', 'YAML (or JSON) file with one target block, or a targets: list')
    .option('--target-id <id>', 'the target to preview (picks it from a targets: list, or sets the block\'s id)')
    .option('--json', 'print the report as JSON')
    .option('--match', 'ask the target (read-only GETs) whether would-be creates link existing accounts')
    .option('--samples <n>', 'samples per outcome', '5')
    .option('--values', 'include attribute values in samples')
    .action(async (opts: PreviewCommandOptions) => {
      process.exitCode = await previewCommand(opts, s => process.stdout.write(s), s => process.stderr.write(s));
    });
}

/** Runs the command; returns the exit code (0 done, 1 invalid input or failure). */
export async function previewCommand(opts: PreviewCommandOptions, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let ds: DataSource | undefined;
  try {
    const env = loadEnv();
    const target = resolveCandidateTarget(pickBlock(opts.file, opts.targetId), env, opts.targetId);
    ds = new DataSource(dataSourceOptions(env));
    await ds.initialize();
    const report = await runPreview(new DbService(ds), target, { match: !!opts.match, samples: Number(opts.samples ?? 5), includeValues: !!opts.values });
    out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return 0;
  } catch (e) {
    err(`switchboard preview: ${e instanceof ConfigError ? e.message : (e as Error).stack ?? e}\n`);
    return 1;
  } finally {
    await ds?.destroy().catch(() => undefined);
  }
}

function pickBlock(file: string, targetId?: string): unknown {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(file, [`cannot read: ${(e as Error).message.split('\n')[0]}`]);
  }
  const list = doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as { targets?: unknown }).targets : undefined;
  if (!Array.isArray(list)) return doc;
  const blocks = list as Array<{ id?: unknown }>;
  if (targetId) {
    const found = blocks.find(b => b && b.id === targetId);
    if (!found) throw new ConfigError(file, [`targets: no target with id "${targetId}" (found: ${blocks.map(b => String(b?.id)).join(', ') || 'none'})`]);
    return found;
  }
  if (blocks.length !== 1) throw new ConfigError(file, [`targets: holds ${blocks.length} targets; pick one with --target-id`]);
  return blocks[0];
}

/** The report as a plain-text table for a terminal. */
export function formatReport(r: PreviewReport): string {
  const types = Object.keys(r.byResourceType).sort();
  const cols = [...types, 'total'];
  const width = Math.max(8, ...cols.map(c => c.length + 2));
  const row = (label: string, cells: Array<string | number>) => `${label.padEnd(13)}${cells.map(c => String(c).padStart(width)).join('')}\n`;
  let s = `Preview of target ${r.targetId} (${r.newTarget ? 'new target' : 'existing links'}; matching ${r.matching === 'target' ? 'at the target' : 'offline'}): ${r.scanned} resources in ${r.durationMs} ms\n\n`;
  s += row('outcome', cols);
  for (const o of PREVIEW_OUTCOMES) s += row(o, [...types.map(t => r.byResourceType[t][o]), r.counts[o]]);
  const pairs = (m: Record<string, number>) => Object.entries(m).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  if (r.counts.deprovision) s += `\ndeprovision by action: ${pairs(r.deprovision.byAction)}; by reason: ${pairs(r.deprovision.byReason)}\n`;
  if (r.counts.skip) s += `skip by reason: ${pairs(r.skip)}\n`;
  if (r.counts.update) s += `updated attributes: ${pairs(r.updatedAttributes)}\n`;
  const samples = PREVIEW_OUTCOMES.flatMap(o => r.samples[o].map(x => ({ o, x })));
  if (samples.length) {
    s += '\nsamples:\n';
    for (const { o, x } of samples) {
      const what = [x.reason, x.action, x.attributes?.join(' '), x.remoteId ? `remote ${x.remoteId}` : undefined].filter(Boolean).join('; ');
      s += `  ${o.padEnd(12)}${x.resourceType.padEnd(6)}${(x.name ?? '').padEnd(32)} ${x.resourceId}${what ? `  ${what}` : ''}\n`;
      if (x.values !== undefined) s += `  ${''.padEnd(18)}${JSON.stringify(x.values)}\n`;
    }
  }
  if (r.errors.length) {
    s += `\nerrors (a real push would dead-letter these):\n`;
    for (const e of r.errors) s += `  ${e.resourceType} ${e.resourceId}: ${e.error}\n`;
  }
  if (r.notes.length) s += `\nnotes:\n${r.notes.map(n => `  - ${n}\n`).join('')}`;
  return s;
}
