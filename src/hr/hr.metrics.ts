import { Counter, Registry } from 'prom-client';

/** HR and source-precedence counters, registered once per metrics registry (api and worker share one in role `all`). */
export interface HrMetrics {
  /** Deliveries by source and outcome (accepted, duplicate, rejected, handshake). */
  webhooks: Counter<'source' | 'outcome'>;
  /** Deliveries refused with 401 by source and reason (bad-signature, stale-timestamp, …). Nothing else is stored for them. */
  verifyFailures: Counter<'source' | 'reason'>;
  /** HR events processed by the worker, by source and result (applied, ignored, failed). */
  processed: Counter<'source' | 'result'>;
  /** Scheduled changes applied, by source and action. */
  scheduledApplied: Counter<'source' | 'action'>;
}

const byRegistry = new WeakMap<Registry, HrMetrics>();

export function hrMetrics(registry: Registry): HrMetrics {
  let m = byRegistry.get(registry);
  if (!m) {
    const registers = [registry];
    m = {
      webhooks: new Counter({ name: 'switchboard_hr_webhooks_total', help: 'HR webhook deliveries, by source and outcome', labelNames: ['source', 'outcome'], registers }),
      verifyFailures: new Counter({ name: 'switchboard_hr_webhook_verify_failures_total', help: 'HR webhook deliveries refused (401), by source and reason', labelNames: ['source', 'reason'], registers }),
      processed: new Counter({ name: 'switchboard_hr_events_processed_total', help: 'HR events processed by the worker, by source and result', labelNames: ['source', 'result'], registers }),
      scheduledApplied: new Counter({ name: 'switchboard_hr_scheduled_changes_applied_total', help: 'Effective-dated HR changes applied, by source and action', labelNames: ['source', 'action'], registers }),
    };
    byRegistry.set(registry, m);
  }
  return m;
}
