import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A SCIM resource as a downstream app stores it (plain JSON, deep-copied on the way out). */
export type ScimObject = Record<string, unknown> & { id?: string; schemas?: string[] };

/** One HTTP exchange seen by a downstream app or the fault proxy. Times are epoch milliseconds (sub-ms precision). */
export interface RequestRecord {
  method: string;
  /** Path with query string, as received (e.g. `/scim/v2/Users?filter=…`). */
  path: string;
  status: number;
  startedAt: number;
  endedAt: number;
  /** Id of the User or Group addressed by the path, or created by a POST. */
  resourceId?: string;
}

/** A running downstream SCIM service provider used by tests and the demo. */
export interface DownstreamApp {
  /** Base URL ending in `/scim/v2`, on 127.0.0.1 with the real port. */
  url: string;
  close(): Promise<void>;
  /** Snapshot of stored Users (deep copies). */
  users(): ScimObject[];
  /** Snapshot of stored Groups (deep copies). */
  groups(): ScimObject[];
  /** Every request served, in completion order. */
  requests: RequestRecord[];
}

/** Options shared by the downstream app factories. */
export interface DownstreamAppOptions {
  /** Port to listen on; 0 or omitted picks a free one. */
  port?: number;
  /** Bearer token clients must send. */
  token: string;
}

/** SCIM base path every downstream app serves under. */
export const SCIM_BASE_PATH = '/scim/v2';

/** High-resolution wall clock in epoch ms, so overlapping requests within one millisecond still order correctly. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Extracts the resource id from `/…/Users/<id>` or `/…/Groups/<id>`. */
export function resourceIdFromPath(path: string): string | undefined {
  const match = /\/(?:Users|Groups)\/([^/?#]+)/.exec(path);
  return match ? decodeURIComponent(match[1]) : undefined;
}

/**
 * Appends a RequestRecord once the response is done. `resolveId` runs at that point, so a POST can
 * report the id it just created.
 */
export function recordRequest(
  req: IncomingMessage,
  res: ServerResponse,
  records: RequestRecord[],
  resolveId: () => string | undefined = () => undefined,
): void {
  const startedAt = nowMs();
  const path = req.url ?? '/';
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    const resourceId = resourceIdFromPath(path) ?? resolveId();
    records.push({ method: req.method ?? 'GET', path, status: res.statusCode, startedAt, endedAt: nowMs(), ...(resourceId ? { resourceId } : {}) });
  };
  res.on('finish', finish);
  res.on('close', finish);
}

/** Listens on 127.0.0.1 and resolves the origin (`http://127.0.0.1:<real port>`). */
export function listenLocal(server: Server, port = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

/** Closes a server, dropping keep-alive sockets so clients with pooled connections cannot hold it open. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}

/** Deep copy for snapshots, so tests cannot mutate an app's store. */
export function clone<T>(value: T): T {
  // Not structuredClone: under jest's vm sandbox it returns objects from the outer realm, which fail
  // SCIMMY's `instanceof Object` checks. Every stored value is plain JSON anyway.
  return JSON.parse(JSON.stringify(value)) as T;
}
