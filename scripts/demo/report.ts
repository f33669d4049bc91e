import { DataSource } from 'typeorm';

/** Per-target numbers for the demo's summary. */
export interface TargetReport {
  target: string;
  users: number;
  groups: number;
  /** Successful HTTP writes recorded in the push log. */
  pushes: number;
  /** Failed attempts that were retried (5xx, timeouts, 429). */
  retries: number;
  deadLetters: number;
  /** Change → applied latency, ms (first successful push whose version ≥ the event's). */
  p50: number;
  p99: number;
  events: number;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Change→applied latency per target: for each outbox event, the first successful push of that resource
 * at that target whose recorded version is ≥ the event's version. Events no push applied (e.g. a
 * deactivated user never provisioned there) are not counted.
 */
export async function latencies(ds: DataSource, targetId: string): Promise<number[]> {
  const events: Array<{ resource_id: string; version: number; created_at: string }> = await ds.query('SELECT resource_id, version, created_at FROM change_event ORDER BY id');
  const pushes: Array<{ resource_id: string; version: number; created_at: string }> = await ds.query(
    'SELECT resource_id, version, created_at FROM push_log WHERE target_id = $1 AND ok = $2 ORDER BY id'.replace(/\$(\d)/g, ds.options.type === 'postgres' ? '$$$1' : '?'),
    [targetId, ds.options.type === 'postgres' ? true : 1],
  );
  const byResource = new Map<string, Array<{ version: number; at: number }>>();
  for (const p of pushes) {
    const list = byResource.get(p.resource_id) ?? [];
    list.push({ version: Number(p.version), at: Date.parse(p.created_at) });
    byResource.set(p.resource_id, list);
  }
  const out: number[] = [];
  for (const e of events) {
    const created = Date.parse(e.created_at);
    const hit = (byResource.get(e.resource_id) ?? []).find(p => p.version >= Number(e.version) && p.at >= created);
    if (hit) out.push(hit.at - created);
  }
  return out.sort((a, b) => a - b);
}

export async function targetReport(ds: DataSource, targetId: string, remote: { users: number; groups: number }, deadLetters: number): Promise<TargetReport> {
  const q = (sql: string) => ds.query(sql.replace(/\$(\d)/g, ds.options.type === 'postgres' ? '$$$1' : '?'), [targetId]);
  const [{ n: pushes }] = await q(`SELECT COUNT(*) AS n FROM push_log WHERE target_id = $1 AND ok = ${ds.options.type === 'postgres' ? 'true' : '1'} AND action NOT IN ('skip', 'link')`);
  const [{ n: retries }] = await q(`SELECT COUNT(*) AS n FROM push_log WHERE target_id = $1 AND ok = ${ds.options.type === 'postgres' ? 'false' : '0'}`);
  const lat = await latencies(ds, targetId);
  return { target: targetId, users: remote.users, groups: remote.groups, pushes: Number(pushes), retries: Number(retries), deadLetters, p50: percentile(lat, 50), p99: percentile(lat, 99), events: lat.length };
}

export function formatReport(rows: TargetReport[]): string {
  const head = ['target', 'users', 'groups', 'pushes', 'retries', 'dead letters', 'p50 ms', 'p99 ms'];
  const lines = rows.map(r => [r.target, r.users, r.groups, r.pushes, r.retries, r.deadLetters, r.p50, r.p99].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map(l => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [fmt(head), fmt(widths.map(w => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}
