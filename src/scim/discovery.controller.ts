import { Controller, Get, Param, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ScimAuthGuard } from '../auth/scim-auth.guard.js';
import { BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD_SIZE } from './bulk/bulk.constants.js';
import { MAX_RESULTS } from './resource-query.service.js';
import { SchemaRegistry } from './schema/schema-registry.js';
import { SchemaDefinition } from './schema/schema.types.js';
import { LIST_RESPONSE_SCHEMA, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, SCIM_MEDIA_TYPE, SERVICE_PROVIDER_CONFIG_SCHEMA } from './scim.constants.js';
import { ScimError } from './scim.error.js';
import { ScimUrls } from './scim-urls.js';

/**
 * Discovery endpoints (RFC 7644 §4), generated from the schema registry so they advertise exactly
 * what is served: `/ServiceProviderConfig`, `/ResourceTypes[/{name}]`, `/Schemas[/{urn}]`.
 */
@UseGuards(ScimAuthGuard)
@Controller('scim/v2')
export class DiscoveryController {
  constructor(private readonly registry: SchemaRegistry, private readonly urls: ScimUrls) {}

  @Get('ServiceProviderConfig')
  serviceProviderConfig(@Req() req: Request, @Res({ passthrough: true }) res: Response): string {
    return send(res, {
      schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
      documentationUri: 'https://github.com/switchboard-idp/switchboard#readme',
      patch: { supported: true },
      bulk: { supported: true, maxOperations: BULK_MAX_OPERATIONS, maxPayloadSize: BULK_MAX_PAYLOAD_SIZE },
      filter: { supported: true, maxResults: MAX_RESULTS },
      changePassword: { supported: true },
      sort: { supported: true },
      etag: { supported: true },
      authenticationSchemes: [{
        type: 'oauthbearertoken', name: 'OAuth Bearer Token', primary: true,
        description: 'A bearer token per SCIM client, configured in switchboard.yaml (RFC 6750).',
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
      }],
      meta: { resourceType: 'ServiceProviderConfig', location: `${this.urls.base(req)}/ServiceProviderConfig` },
    });
  }

  @Get('ResourceTypes')
  resourceTypes(@Req() req: Request, @Res({ passthrough: true }) res: Response): string {
    const list = this.registry.resourceTypes().map(t => this.resourceType(req, t.name));
    return send(res, { schemas: [LIST_RESPONSE_SCHEMA], totalResults: list.length, itemsPerPage: list.length, startIndex: 1, Resources: list });
  }

  @Get('ResourceTypes/:name')
  oneResourceType(@Param('name') name: string, @Req() req: Request, @Res({ passthrough: true }) res: Response): string {
    return send(res, this.resourceType(req, name));
  }

  @Get('Schemas')
  schemas(@Req() req: Request, @Res({ passthrough: true }) res: Response): string {
    const list = this.registry.schemas().map(s => this.schemaDoc(req, s));
    return send(res, { schemas: [LIST_RESPONSE_SCHEMA], totalResults: list.length, itemsPerPage: list.length, startIndex: 1, Resources: list });
  }

  @Get('Schemas/:urn')
  oneSchema(@Param('urn') urn: string, @Req() req: Request, @Res({ passthrough: true }) res: Response): string {
    const s = this.registry.schemas().find(x => x.id.toLowerCase() === urn.toLowerCase());
    if (!s) throw ScimError.notFound(`Schema ${urn} not found`);
    return send(res, this.schemaDoc(req, s));
  }

  private resourceType(req: Request, name: string): Record<string, unknown> {
    const t = this.registry.resourceTypes().find(x => x.name.toLowerCase() === name.toLowerCase() || x.id.toLowerCase() === name.toLowerCase());
    if (!t) throw ScimError.notFound(`ResourceType ${name} not found`);
    return {
      schemas: [RESOURCE_TYPE_SCHEMA], id: t.id, name: t.name, endpoint: t.endpoint, description: t.description, schema: t.schema,
      schemaExtensions: t.schemaExtensions.map(e => ({ schema: e.schema, required: e.required })),
      meta: { resourceType: 'ResourceType', location: `${this.urls.base(req)}/ResourceTypes/${t.name}` },
    };
  }

  private schemaDoc(req: Request, s: SchemaDefinition): Record<string, unknown> {
    return { schemas: [SCHEMA_SCHEMA], ...s, meta: { resourceType: 'Schema', location: `${this.urls.base(req)}/Schemas/${s.id}` } };
  }
}

function send(res: Response, body: unknown): string {
  res.type(SCIM_MEDIA_TYPE);
  return JSON.stringify(body);
}
