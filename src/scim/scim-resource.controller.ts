import { Body, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { AuthedRequest, ScimAuthGuard } from '../auth/scim-auth.guard.js';
import { newCorrelationId } from '../common/ids.js';
import { ResourceService } from '../identity/resource.service.js';
import { StoredResource, WriteContext } from '../identity/resource.types.js';
import { PatchService } from './patch/patch.service.js';
import { ListParams, ResourceQueryService } from './resource-query.service.js';
import { etagOf, etagListHas, toScim, versionFromEtag } from './resource.formatter.js';
import { compileProjection, project, Projection, ProjectionParams, projectionWants } from './projection.js';
import { enforceMutability, prepareWrite } from './resource.input.js';
import { LIST_RESPONSE_SCHEMA, ResourceTypeName, SCIM_MEDIA_TYPE } from './scim.constants.js';
import { ScimError } from './scim.error.js';
import { SchemaRegistry } from './schema/schema-registry.js';
import { ScimUrls } from './scim-urls.js';

/**
 * The resource endpoints of RFC 7644 §3 for one resource type; `UsersController` and
 * `GroupsController` bind it to `/scim/v2/Users` and `/scim/v2/Groups`.
 */
@UseGuards(ScimAuthGuard)
export abstract class ScimResourceController {
  protected abstract readonly type: ResourceTypeName;

  constructor(
    protected readonly resources: ResourceService,
    protected readonly query: ResourceQueryService,
    protected readonly patches: PatchService,
    protected readonly urls: ScimUrls,
    protected readonly registry: SchemaRegistry,
  ) {}

  /** RFC 7644 §3.3: 201 + Location + ETag; 409 uniqueness. `attributes` / `excludedAttributes` shape the body (§3.9). */
  @Post()
  @HttpCode(201)
  async create(@Body() body: unknown, @Query() q: ProjectionParams, @Req() req: AuthedRequest, @Res({ passthrough: true }) res: Response): Promise<string> {
    const projection = this.projection(q);
    const created = await this.resources.create(this.type, prepareWrite(this.type, this.json(req, body), this.registry), this.ctx(req));
    const out = await this.render(created, req, projection);
    // meta.location, computed here: the projection may have dropped `meta` from the body.
    res.setHeader('Location', `${this.urls.base(req)}/${this.type === 'User' ? 'Users' : 'Groups'}/${created.id}`);
    return this.send(res, created, out);
  }

  /** RFC 7644 §3.4.2: filter, startIndex (1-based), count, attributes, excludedAttributes. */
  @Get()
  async list(@Query() q: Record<string, string>, @Req() req: AuthedRequest, @Res({ passthrough: true }) res: Response): Promise<string> {
    return this.listResponse(req, res, { filter: q.filter, startIndex: q.startIndex, count: q.count, sortBy: q.sortBy, sortOrder: q.sortOrder }, this.projection(q));
  }

  /** RFC 7644 §3.4.3: the same query in a POST body. */
  @Post('.search')
  @HttpCode(200)
  async search(@Body() body: unknown, @Req() req: AuthedRequest, @Res({ passthrough: true }) res: Response): Promise<string> {
    const b = this.json(req, body);
    // An array body would hand back Array.prototype.filter as the filter.
    if (!b || typeof b !== 'object' || Array.isArray(b)) throw ScimError.invalidSyntax('SearchRequest body must be a JSON object');
    const { filter, startIndex, count, sortBy, sortOrder, attributes, excludedAttributes } = b as Record<string, unknown>;
    return this.listResponse(req, res, { filter, startIndex, count, sortBy, sortOrder }, this.projection({ attributes, excludedAttributes }));
  }

  /** RFC 7644 §3.4.1; If-None-Match with the current ETag → 304. Members are not read when the projection drops them. */
  @Get(':id')
  async get(@Param('id') id: string, @Query() q: ProjectionParams, @Req() req: AuthedRequest, @Res({ passthrough: true }) res: Response): Promise<string | void> {
    const projection = this.projection(q);
    const r = await this.load(id, this.wants(projection, 'members'));
    if (etagListHas(req.headers['if-none-match'], r.version)) {
      res.status(304).setHeader('ETag', etagOf(r.version));
      return;
    }
    return this.send(res, r, await this.render(r, req, projection));
  }

  /** RFC 7644 §3.5.1: replace; readOnly attributes ignored; If-Match → 412 on mismatch. */
  @Put(':id')
  async replace(@Param('id') id: string, @Body() body: unknown, @Query() q: ProjectionParams, @Req() req: AuthedRequest, @Res({ passthrough: true }) res: Response): Promise<string> {
    const projection = this.projection(q);
    const input = prepareWrite(this.type, this.json(req, body), this.registry);
    const { resource } = await this.resources.update(this.type, knownId(id, this.type), this.ctx(req), current => {
      // RFC 7644 §3.5.1: readOnly values stay as stored, omitted writeOnly ones (password) are kept, immutable ones may not change.
      enforceMutability(this.type, current.doc, input.doc, this.registry, 'replace');
      return { ...input, members: this.type === 'Group' ? input.members ?? [] : undefined };
    }, this.ifMatch(req));
    const out = await this.withMembers(resource, projection);
    return this.send(res, out, await this.render(out, req, projection));
  }

  /** RFC 7644 §3.5.2: PatchOp; all operations or none. */
  @Patch(':id')
  async patch(@Param('id') id: string, @Body() body: unknown, @Query() q: ProjectionParams, @Req() req: AuthedRequest, @Res({ passthrough: true }) res: Response): Promise<string> {
    const projection = this.projection(q);
    const ops = this.patches.parse(this.json(req, body));
    const { resource } = await this.resources.update(this.type, knownId(id, this.type), this.ctx(req), current => this.patches.apply(this.type, current, ops), this.ifMatch(req));
    if (this.type === 'Group' && q.attributes === undefined && q.excludedAttributes === undefined) {
      // RFC 7644 §3.5.2 allows 204 (Entra expects it): one membership change on a 100k-member group
      // must not send every member back. Ask with `attributes` / `excludedAttributes` to get a body.
      res.status(204).setHeader('ETag', etagOf(resource.version));
      return undefined as unknown as string;
    }
    const out = await this.withMembers(resource, projection);
    return this.send(res, out, await this.render(out, req, projection));
  }

  /** RFC 7644 §3.6: 204; the resource is tombstoned until every target is deprovisioned. */
  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id') id: string, @Req() req: AuthedRequest): Promise<void> {
    await this.resources.delete(this.type, knownId(id, this.type), this.ctx(req), this.ifMatch(req));
  }

  private async listResponse(req: AuthedRequest, res: Response, params: ListParams, projection: Projection): Promise<string> {
    const base = this.urls.base(req);
    // The base URL lets `meta.location` and `$ref` filters compare against what this request is served.
    const page = await this.query.list(this.type, { ...params, baseUrl: base, withMembers: this.type !== 'Group' || this.wants(projection, 'members') });
    const groups = this.type === 'User' && this.wants(projection, 'groups') ? await this.resources.groupsOf(page.resources.map(r => r.id)) : undefined;
    const body = {
      schemas: [LIST_RESPONSE_SCHEMA],
      totalResults: page.totalResults,
      startIndex: page.startIndex,
      itemsPerPage: page.resources.length,
      Resources: page.resources.map(r => project(this.registry, projection, toScim(r, base, { groups: groups?.get(r.id) ?? (groups ? [] : undefined) }))),
    };
    res.type(SCIM_MEDIA_TYPE);
    return JSON.stringify(body);
  }

  private async load(id: string, withMembers: boolean): Promise<StoredResource> {
    const r = await this.resources.find(this.type, knownId(id, this.type), withMembers);
    if (!r) throw ScimError.notFound(`${this.type} ${id} not found`);
    return r;
  }

  /** A Group after a write, re-read with its members when the response shows them (the write returns none). */
  private async withMembers(r: StoredResource, projection: Projection): Promise<StoredResource> {
    if (this.type !== 'Group' || r.members || !this.wants(projection, 'members')) return r;
    return (await this.resources.find(this.type, r.id)) ?? r;
  }

  /** The response body: `toScim`, with the User's `groups` read only when the projection keeps them. */
  private async render(r: StoredResource, req: AuthedRequest, projection: Projection): Promise<Record<string, unknown>> {
    const groups = this.type === 'User' && this.wants(projection, 'groups') ? (await this.resources.groupsOf([r.id])).get(r.id) ?? [] : undefined;
    return project(this.registry, projection, toScim(r, this.urls.base(req), { groups }));
  }

  /** RFC 7644 §3.4.2.5 / §3.9: `attributes` and `excludedAttributes`, from the query or a SearchRequest. */
  private projection(params: ProjectionParams): Projection {
    return compileProjection(this.registry, this.type, { attributes: params.attributes, excludedAttributes: params.excludedAttributes });
  }

  private wants(projection: Projection, attribute: string): boolean {
    return projectionWants(this.registry, projection, attribute);
  }

  private send(res: Response, r: StoredResource, body: Record<string, unknown>): string {
    res.type(SCIM_MEDIA_TYPE).setHeader('ETag', etagOf(r.version));
    return JSON.stringify(body);
  }

  /**
   * The parsed body, once it is known to be JSON. Any other media type → 415: the form parser would
   * otherwise turn `schemas[]=…&userName=…` into a resource (RFC 7644 §3.1 specifies JSON).
   */
  private json(req: AuthedRequest, body: unknown): unknown {
    if (req.is(['application/json', 'application/*+json']) === false) {
      throw ScimError.unsupportedMediaType(`Content-Type must be ${SCIM_MEDIA_TYPE} or application/json`);
    }
    return body;
  }

  private ifMatch(req: AuthedRequest): number | undefined {
    return versionFromEtag(req.headers['if-match'] as string | undefined);
  }

  private ctx(req: AuthedRequest): WriteContext {
    const cid = req.headers['x-correlation-id'];
    return { origin: `scim:${req.principal?.clientId ?? 'unknown'}`, correlationId: typeof cid === 'string' && /^[\w-]{1,64}$/.test(cid) ? cid : newCorrelationId() };
  }
}

/**
 * `id` when it could name a resource, else 404 before any query: ids are uuids (varchar(36)), and
 * PostgreSQL fails on a U+0000 in a parameter (`/Users/%00`).
 */
function knownId(id: string, type: ResourceTypeName): string {
  if (id.length > 36 || /[\u0000-\u001f]/.test(id)) throw ScimError.notFound(`${type} not found`);
  return id;
}
