/** One operation as ordering sees it: the bulkId its POST defines, and the bulkIds it refers to. */
export interface BulkNode {
  defines?: string;
  refs: Iterable<string>;
}

/** Why an operation cannot run in dependency order. */
export type BlockedReason = 'cycle' | 'dependsOnCycle';

export interface BulkPlan {
  /** Indexes of the operations that can run, each after the POSTs it refers to; request order otherwise. */
  order: number[];
  /** Operations on or behind a circular reference, in request order. */
  blocked: Array<{ index: number; reason: BlockedReason }>;
}

/**
 * Orders bulk operations so each runs after the POSTs whose bulkIds it uses (forward references,
 * RFC 7644 §3.7.2). Among ready operations the earliest in the request goes first, so a request
 * without references runs as sent. References to bulkIds no operation defines add no edge: they fail
 * when the operation runs. Operations on a cycle (a self-reference included) and those that depend
 * on one cannot be ordered and come back as `blocked` (RFC 7644 §3.7.1 lets us answer 409).
 */
export function planBulk(nodes: BulkNode[]): BulkPlan {
  const definer = new Map<string, number>();
  nodes.forEach((n, i) => { if (n.defines !== undefined && !definer.has(n.defines)) definer.set(n.defines, i); });
  const deps = nodes.map(n => {
    const d = new Set<number>();
    for (const ref of n.refs) {
      const j = definer.get(ref);
      if (j !== undefined) d.add(j);
    }
    return d;
  });
  const dependents = nodes.map(() => [] as number[]);
  const pending = deps.map(d => d.size);
  deps.forEach((d, i) => { for (const j of d) dependents[j].push(i); });

  const ready = pending.flatMap((p, i) => (p === 0 ? [i] : []));
  const order: number[] = [];
  while (ready.length) {
    // n ≤ BULK_MAX_OPERATIONS: a sorted array is simpler than a heap and fast enough.
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    order.push(i);
    for (const k of dependents[i]) if (--pending[k] === 0) ready.push(k);
  }

  const left = new Set(nodes.map((_, i) => i).filter(i => pending[i] > 0));
  const blocked = [...left].sort((a, b) => a - b).map(index => ({ index, reason: onCycle(index, deps, left) ? 'cycle' as const : 'dependsOnCycle' as const }));
  return { order, blocked };
}

/** True when `start` reaches itself through dependencies among the unordered operations. */
function onCycle(start: number, deps: Array<Set<number>>, left: Set<number>): boolean {
  const seen = new Set<number>();
  const stack = [...deps[start]];
  while (stack.length) {
    const i = stack.pop()!;
    if (i === start) return true;
    if (seen.has(i) || !left.has(i)) continue;
    seen.add(i);
    stack.push(...deps[i]);
  }
  return false;
}
