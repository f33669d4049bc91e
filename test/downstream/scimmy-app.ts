import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import express from 'express';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';
import {
  clone,
  closeServer,
  listenLocal,
  recordRequest,
  SCIM_BASE_PATH,
  type DownstreamApp,
  type DownstreamAppOptions,
  type RequestRecord,
  type ScimObject,
} from './downstream-app.js';

/** Per-app storage; SCIMMY hands it back to the handlers as the request context. */
type Stores = { User: Map<string, ScimObject>; Group: Map<string, ScimObject> };
type ResourceName = keyof Stores;

const UNIQUE_ATTR: Record<ResourceName, string> = { User: 'userName', Group: 'displayName' };

// SCIMMY keeps resources, schemas and config in process-wide singletons, so the handlers are declared once
// and find their app's Maps through the context that scimmy-routers passes along. This lets tests run
// several SCIMMY apps in one process without them seeing each other's data.
let declared = false;

function storesOf(ctx: unknown): Stores {
  if (!ctx || typeof ctx !== 'object' || !('User' in ctx)) throw scimError(500, null, 'Missing store context');
  return ctx as Stores;
}

/** SCIMMY's own errors use `null` for "no scimType"; its typings only admit a string. */
function scimError(status: number, scimType: string | null, detail: string): Error {
  return new SCIMMY.Types.Error(status, scimType as string, detail);
}

function notFound(id: string | undefined): Error {
  return scimError(404, null, `Resource ${id} not found`);
}

function sameKey(a: unknown, b: unknown): boolean {
  return String(a ?? '').toLowerCase() === String(b ?? '').toLowerCase();
}

type ScimmyFilter = InstanceType<typeof SCIMMY.Types.Filter>;

// Filter.match compares strings case-sensitively and knows nothing of caseExact; RFC 7643 makes userName
// and displayName caseExact=false, and clients look users up by userName, so those two are folded here.
const CASE_INSENSITIVE = new Set(['username', 'displayname']);

function foldExpression(expr: unknown): unknown {
  if (!Array.isArray(expr)) return expr;
  if (Array.isArray(expr[0])) return expr.map(foldExpression);
  return expr.map((part, i) => (i > 0 && typeof part === 'string' ? part.toLowerCase() : part));
}

function foldFilter(filter: ScimmyFilter): ScimmyFilter {
  const terms = [...filter].map((term) =>
    Object.fromEntries(Object.entries(term).map(([k, v]) => [k, CASE_INSENSITIVE.has(k.toLowerCase()) ? foldExpression(v) : v])),
  );
  return new SCIMMY.Types.Filter(terms);
}

function foldResource(resource: ScimObject): ScimObject {
  const folded: ScimObject = { ...resource };
  for (const [k, v] of Object.entries(resource)) if (CASE_INSENSITIVE.has(k.toLowerCase()) && typeof v === 'string') folded[k] = v.toLowerCase();
  return folded;
}

/** Applies a list filter; a resource SCIMMY cannot evaluate the filter on counts as no match. */
function applyFilter(filter: ScimmyFilter, resources: ScimObject[]): ScimObject[] {
  const folded = foldFilter(filter);
  return resources.filter((r) => {
    // Filter.match throws "Cannot convert undefined or null to object" when a resource lacks a complex
    // attribute named in the filter (research/scim-libraries.md §2); one sparse resource must not fail the list.
    try {
      return folded.match([foldResource(r)]).length > 0;
    } catch {
      return false;
    }
  });
}

/** SCIMMY's PatchOp appends a member that is already present (research/scim-libraries.md §3, P7); RFC 7644 §3.5.2.1 says that changes nothing. */
function uniqueMembers(members: Array<{ value?: unknown }>): Array<{ value?: unknown }> {
  const seen = new Set<unknown>();
  return members.filter((m) => (seen.has(m.value) ? false : (seen.add(m.value), true)));
}

function declareResource(Resource: typeof SCIMMY.Types.Resource<any>, name: ResourceName): void {
  const uniqueAttr = UNIQUE_ATTR[name];
  SCIMMY.Resources.declare(Resource);
  // PATCH reaches here too: SCIMMY reads through egress, applies the PatchOp, then writes the whole result.
  Resource.ingress((resource, instance, ctx) => {
    const store = storesOf(ctx)[name];
    const data = JSON.parse(JSON.stringify(instance)) as ScimObject;
    if (Array.isArray(data.members)) data.members = uniqueMembers(data.members as Array<{ value?: unknown }>);
    const clash = [...store.values()].find((r) => r.id !== resource.id && sameKey(r[uniqueAttr], data[uniqueAttr]));
    if (clash) throw scimError(409, 'uniqueness', `${uniqueAttr} already exists`);
    const now = new Date().toISOString();
    const existing = resource.id ? store.get(resource.id) : undefined;
    if (resource.id && !existing) throw notFound(resource.id);
    const id = resource.id ?? randomUUID();
    const created = (existing?.meta as { created?: string } | undefined)?.created ?? now;
    const stored: ScimObject = { ...data, id, meta: { created, lastModified: now } };
    store.set(id, stored);
    return clone(stored) as never;
  });
  Resource.egress((resource, ctx) => {
    const store = storesOf(ctx)[name];
    if (resource.id) {
      const found = store.get(resource.id);
      if (!found) throw notFound(resource.id);
      return clone(found) as never;
    }
    const all = [...store.values()].map((r) => clone(r));
    const filter = resource.filter;
    return (filter ? applyFilter(filter, all) : all) as never;
  });
  Resource.degress((resource, ctx) => {
    const stores = storesOf(ctx);
    if (!resource.id || !stores[name].delete(resource.id)) throw notFound(resource.id);
    // Most real apps drop the memberships of a deleted user; keep the Groups consistent the same way.
    for (const group of stores.Group.values()) {
      const members = group.members as Array<{ value?: string }> | undefined;
      if (members?.some((m) => m.value === resource.id)) group.members = members.filter((m) => m.value !== resource.id);
    }
  });
}

function ensureDeclared(): void {
  if (declared) return;
  declareResource(SCIMMY.Resources.User, 'User');
  declareResource(SCIMMY.Resources.Group, 'Group');
  SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false);
  declared = true;
}

function applyConfig(): void {
  // scimmy-routers' constructor overwrites the config (bulk: true), so this runs after every router is built.
  SCIMMY.Config.set({
    patch: true,
    filter: { supported: true, maxResults: 200 },
    sort: true,
    bulk: false,
    changePassword: false,
    etag: false,
  });
}

/**
 * Starts a lenient in-memory SCIM 2.0 service provider built on SCIMMY + scimmy-routers (express 4),
 * serving Users (with the EnterpriseUser extension) and Groups under `/scim/v2` on 127.0.0.1.
 * userName and Group displayName are unique case-insensitively (409 uniqueness).
 */
export async function startScimmyApp(opts: DownstreamAppOptions): Promise<DownstreamApp> {
  ensureDeclared();
  const stores: Stores = { User: new Map(), Group: new Map() };
  const requests: RequestRecord[] = [];
  let origin = '';

  const router = new SCIMMYRouters({
    type: 'bearer',
    handler: (req) => {
      if (req.header('Authorization') !== `Bearer ${opts.token}`) throw new Error('Authorization failed');
      return 'downstream';
    },
    context: () => stores,
  });
  applyConfig();

  const app = express();
  app.disable('x-powered-by');
  // SCIMMY's basepath is global; leaving it relative and making it absolute here keeps two apps in one
  // process from racing each other over meta.location.
  app.set('json replacer', (key: string, value: unknown) =>
    key === 'location' && typeof value === 'string' && value.startsWith('/') ? origin + value : value,
  );
  app.use((req, res, next) => {
    let createdId: string | undefined;
    const json = res.json.bind(res);
    res.json = ((body: unknown) => {
      const id = (body as { id?: unknown } | null)?.id;
      if (req.method === 'POST' && typeof id === 'string') createdId = id;
      return json(body);
    }) as typeof res.json;
    recordRequest(req, res, requests, () => createdId);
    next();
  });
  app.use(SCIM_BASE_PATH, router);

  const server = createServer(app);
  origin = await listenLocal(server, opts.port);
  return {
    url: `${origin}${SCIM_BASE_PATH}`,
    close: () => closeServer(server),
    users: () => [...stores.User.values()].map((r) => clone(r)),
    groups: () => [...stores.Group.values()].map((r) => clone(r)),
    requests,
  };
}
