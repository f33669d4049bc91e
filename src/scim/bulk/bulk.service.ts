import { Injectable, Logger } from '@nestjs/common';
import { newCorrelationId } from '../../common/ids.js';
import { ResourceService } from '../../identity/resource.service.js';
import { WriteContext } from '../../identity/resource.types.js';
import { PatchService } from '../patch/patch.service.js';
import { etagOf, versionFromEtag } from '../resource.formatter.js';
import { enforceMutability, prepareWrite } from '../resource.input.js';
import { SchemaRegistry } from '../schema/schema-registry.js';
import { BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, ERROR_SCHEMA, ResourceTypeName } from '../scim.constants.js';
import { ScimError } from '../scim.error.js';
import { BulkIdLookup, bulkRefsInData, bulkRefsInPath, resolveBulkRefsInData, resolveBulkRefsInPath } from './bulk-id.util.js';
import { BULK_MAX_OPERATIONS } from './bulk.constants.js';
import { BlockedReason, planBulk } from './bulk-order.util.js';

/** The HTTP methods a bulk operation may use (RFC 7644 §3.7). */
type BulkMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const METHODS: ReadonlySet<string> = new Set<BulkMethod>(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A SCIM Error body (RFC 7644 §3.12), as a failed operation's `response`. */
export interface ScimErrorBody { schemas: string[]; status: string; scimType?: string; detail: string }

/** One entry of a BulkResponse's `Operations` (RFC 7644 §3.7.3). */
export interface BulkOperationResult {
  location?: string;
  method: string;
  bulkId?: string;
  /** The resource's ETag after the operation; absent for DELETE and failures. */
  version?: string;
  /** HTTP status as a string. */
  status: string;
  /** The SCIM Error of a failed operation. */
  response?: ScimErrorBody;
}

/** A BulkResponse (RFC 7644 §3.7.3). */
export interface BulkResponse { schemas: string[]; Operations: BulkOperationResult[] }

/** A request operation after the request-level checks; what is wrong with it alone is reported when it runs. */
interface BulkOperation { method: string; bulkId?: string; path: unknown; data: unknown; version: unknown }

/**
 * Runs a BulkRequest (RFC 7644 §3.7). Each operation goes through the same write path as the resource
 * endpoints (prepareWrite / PatchService → ResourceService, outbox row in the same transaction) and
 * commits on its own: a bulk request is not atomic. Operations run after the POSTs whose bulkIds they
 * use; circular references are answered 409 per operation (§3.7.1).
 */
@Injectable()
export class BulkService {
  private readonly log = new Logger(BulkService.name);

  constructor(
    private readonly resources: ResourceService,
    private readonly patches: PatchService,
    private readonly registry: SchemaRegistry,
  ) {}

  /**
   * Processes `body`; `baseUrl` is the SCIM base for `location`. Errors of the request as a whole:
   * 400 invalidSyntax / invalidValue (not a BulkRequest, bad `failOnErrors`, a bulkId used twice),
   * 413 (more than BULK_MAX_OPERATIONS). Each operation's own failure is in its result.
   */
  async process(body: unknown, ctx: WriteContext, baseUrl: string): Promise<BulkResponse> {
    const { operations, failOnErrors } = parseRequest(body);
    const plan = planBulk(operations.map(op => ({ defines: op.method === 'POST' ? op.bulkId : undefined, refs: refsOf(op) })));

    const created = new Map<string, string>();
    const failedPosts = new Set<string>();
    const lookup: BulkIdLookup = bulkId => {
      const id = created.get(bulkId);
      if (id !== undefined) return id;
      if (failedPosts.has(bulkId)) throw new ScimError(409, `bulkId:${bulkId} cannot be resolved: the operation that creates it failed`);
      throw ScimError.invalidValue(`bulkId:${bulkId} is not defined by any POST in this request`);
    };

    const results: BulkOperationResult[] = [];
    let errors = 0;
    const steps = [...plan.order.map(index => ({ index, blocked: undefined as BlockedReason | undefined })), ...plan.blocked.map(b => ({ index: b.index, blocked: b.reason }))];
    for (const { index, blocked } of steps) {
      const op = operations[index];
      const result = blocked
        ? failure(op, new ScimError(409, blocked === 'cycle'
          ? 'Circular bulkId reference: this operation refers, directly or through others, to the bulkId it creates (RFC 7644 §3.7.1)'
          : 'This operation refers to a bulkId whose operation is part of a circular reference (RFC 7644 §3.7.1)'))
        : await this.run(op, ctx, baseUrl, lookup, created);
      if (Number(result.status) >= 400) {
        errors++;
        if (op.method === 'POST' && op.bulkId !== undefined) failedPosts.add(op.bulkId);
      }
      results.push(result);
      // RFC 7644 §3.7.3: stop once failOnErrors errors have occurred; the rest is not processed.
      if (failOnErrors !== undefined && errors >= failOnErrors) break;
    }
    return { schemas: [BULK_RESPONSE_SCHEMA], Operations: results };
  }

  private async run(op: BulkOperation, ctx: WriteContext, baseUrl: string, lookup: BulkIdLookup, created: Map<string, string>): Promise<BulkOperationResult> {
    try {
      if (!METHODS.has(op.method)) throw ScimError.invalidSyntax('method must be POST, PUT, PATCH or DELETE');
      if (typeof op.path !== 'string') throw ScimError.invalidSyntax('path must be a string such as "/Users" or "/Users/{id}"');
      if (op.version !== undefined && typeof op.version !== 'string') throw ScimError.invalidSyntax('version must be an ETag string');
      const { type, id } = parsePath(resolveBulkRefsInPath(op.path, lookup));
      const ifMatch = versionFromEtag(op.version as string | undefined);
      const method = op.method as BulkMethod;
      const endpoint = `${baseUrl}/${type === 'User' ? 'Users' : 'Groups'}`;
      if (method === 'POST') {
        if (id !== undefined) throw ScimError.invalidSyntax('POST path must be a resource endpoint such as "/Users"');
        // RFC 7644 §3.7: bulkId is REQUIRED when method is POST.
        if (op.bulkId === undefined) throw ScimError.invalidSyntax('bulkId is required for POST');
        const r = await this.resources.create(type, prepareWrite(type, resolveBulkRefsInData(op.data, lookup), this.registry), ctx);
        created.set(op.bulkId, r.id);
        return ok(op, '201', `${endpoint}/${r.id}`, etagOf(r.version));
      }
      if (id === undefined) throw ScimError.invalidSyntax(`${method} path must name a resource such as "/Users/{id}"`);
      const target = knownId(id, type);
      if (method === 'DELETE') {
        await this.resources.delete(type, target, ctx, ifMatch);
        return ok(op, '204', `${endpoint}/${target}`);
      }
      if (method === 'PUT') {
        const input = prepareWrite(type, resolveBulkRefsInData(op.data, lookup), this.registry);
        const { resource } = await this.resources.update(type, target, ctx, current => {
          // As the PUT endpoint: readOnly values stay, an omitted writeOnly password is kept, immutables hold; members are replaced.
          enforceMutability(type, current.doc, input.doc, this.registry, 'replace');
          return { ...input, members: type === 'Group' ? input.members ?? [] : undefined };
        }, ifMatch);
        return ok(op, '200', `${endpoint}/${target}`, etagOf(resource.version));
      }
      const ops = this.patches.parse(resolvePatchRefs(op.data, lookup));
      const { resource } = await this.resources.update(type, target, ctx, current => this.patches.apply(type, current, ops), ifMatch);
      return ok(op, '200', `${endpoint}/${target}`, etagOf(resource.version));
    } catch (e) {
      if (e instanceof ScimError) return failure(op, e);
      const correlation = newCorrelationId();
      this.log.error({ err: e, correlationId: correlation, method: op.method }, 'bulk operation failed');
      return failure(op, new ScimError(500, `Internal error (correlation id ${correlation})`));
    }
  }
}

/** The request-level checks of RFC 7644 §3.7; 400 or 413 for the whole request. */
function parseRequest(body: unknown): { operations: BulkOperation[]; failOnErrors?: number } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw ScimError.invalidSyntax('BulkRequest body must be a JSON object');
  const b = body as { schemas?: unknown; Operations?: unknown; operations?: unknown; failOnErrors?: unknown };
  if (!Array.isArray(b.schemas) || !b.schemas.some(s => String(s).toLowerCase() === BULK_REQUEST_SCHEMA.toLowerCase())) {
    throw ScimError.invalidSyntax(`schemas must contain "${BULK_REQUEST_SCHEMA}"`);
  }
  const raw = b.Operations ?? b.operations;
  if (!Array.isArray(raw)) throw ScimError.invalidSyntax('Operations must be an array');
  // RFC 7644 §3.7.4: more operations than maxOperations → 413.
  if (raw.length > BULK_MAX_OPERATIONS) throw ScimError.payloadTooLarge(`The number of operations exceeds maxOperations (${BULK_MAX_OPERATIONS})`);
  const f = b.failOnErrors;
  if (f !== undefined && (typeof f !== 'number' || !Number.isInteger(f) || f < 1)) throw ScimError.invalidValue('failOnErrors must be an integer of at least 1');
  const seen = new Set<string>();
  const operations = raw.map((o, i): BulkOperation => {
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw ScimError.invalidSyntax(`Operations[${i}] must be an object`);
    const { method, bulkId, path, data, version } = o as Record<string, unknown>;
    if (bulkId !== undefined && (typeof bulkId !== 'string' || !bulkId)) throw ScimError.invalidSyntax(`Operations[${i}].bulkId must be a non-empty string`);
    const m = typeof method === 'string' ? method.toUpperCase() : String(method);
    // RFC 7644 §3.7: a bulkId is unique within a request; two POSTs with one bulkId make references ambiguous.
    if (m === 'POST' && bulkId !== undefined) {
      if (seen.has(bulkId)) throw ScimError.invalidValue(`bulkId "${bulkId}" is used by more than one POST`);
      seen.add(bulkId);
    }
    return { method: m, bulkId, path, data, version };
  });
  return { operations, failOnErrors: f as number | undefined };
}

/** The bulkIds an operation uses: in its path, its data, and for PATCH in each PatchOp path. */
function refsOf(op: BulkOperation): Set<string> {
  const refs = bulkRefsInData(op.data);
  if (typeof op.path === 'string') bulkRefsInPath(op.path, refs);
  for (const p of patchPaths(op.data)) bulkRefsInPath(p, refs);
  return refs;
}

function patchPaths(data: unknown): string[] {
  const list = data && typeof data === 'object' ? ((data as Record<string, unknown>).Operations ?? (data as Record<string, unknown>).operations) : undefined;
  if (!Array.isArray(list)) return [];
  return list.flatMap(o => (o && typeof (o as { path?: unknown }).path === 'string' ? [(o as { path: string }).path] : []));
}

/** PatchOp data with bulkIds resolved in values and in `path` filters (`members[value eq "bulkId:u1"]`). */
function resolvePatchRefs(data: unknown, lookup: BulkIdLookup): unknown {
  const out = resolveBulkRefsInData(data, lookup);
  const d = out as Record<string, unknown> | null;
  const list = d && typeof d === 'object' ? d.Operations ?? d.operations : undefined;
  if (Array.isArray(list)) {
    for (const o of list) {
      if (o && typeof o === 'object' && typeof (o as { path?: unknown }).path === 'string') {
        (o as { path: string }).path = resolveBulkRefsInPath((o as { path: string }).path, lookup);
      }
    }
  }
  return out;
}

/** `/Users`, `/Groups/{id}` (leading slash optional) → type and id. 400 invalidPath otherwise. */
function parsePath(path: string): { type: ResourceTypeName; id?: string } {
  const m = /^\/?(Users|Groups)(?:\/([^/?#]+))?\/?$/i.exec(path);
  if (!m) throw ScimError.invalidPath(`path "${path.slice(0, 80)}" must be /Users, /Groups, /Users/{id} or /Groups/{id}`);
  return { type: m[1].toLowerCase() === 'users' ? 'User' : 'Group', id: m[2] };
}

/** As the resource endpoints: an id that cannot be a uuid is 404 before any query (PostgreSQL rejects U+0000). */
function knownId(id: string, type: ResourceTypeName): string {
  if (id.length > 36 || /[\u0000-\u001f]/.test(id)) throw ScimError.notFound(`${type} not found`);
  return id;
}

function ok(op: BulkOperation, status: string, location: string, version?: string): BulkOperationResult {
  return { location, method: op.method, ...(op.bulkId !== undefined ? { bulkId: op.bulkId } : {}), ...(version ? { version } : {}), status };
}

function failure(op: BulkOperation, e: ScimError): BulkOperationResult {
  return {
    method: op.method,
    ...(op.bulkId !== undefined ? { bulkId: op.bulkId } : {}),
    status: String(e.status),
    response: { schemas: [ERROR_SCHEMA], status: String(e.status), ...(e.scimType ? { scimType: e.scimType } : {}), detail: e.detail },
  };
}
