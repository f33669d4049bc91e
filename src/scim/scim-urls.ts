import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { Inject } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config.js';

/** Absolute base URL of the SCIM service provider, for `meta.location` and `Location`. */
@Injectable()
export class ScimUrls {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  base(req: Request): string {
    if (this.config.env.publicBaseUrl) return `${this.config.env.publicBaseUrl}/scim/v2`;
    return `${req.protocol}://${req.get('host') ?? 'localhost'}/scim/v2`;
  }
}
