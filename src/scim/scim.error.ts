/** `scimType` keywords of RFC 7644 §3.12, Table 9. */
export enum ScimType {
  InvalidFilter = 'invalidFilter',
  TooMany = 'tooMany',
  Uniqueness = 'uniqueness',
  Mutability = 'mutability',
  InvalidSyntax = 'invalidSyntax',
  InvalidPath = 'invalidPath',
  NoTarget = 'noTarget',
  InvalidValue = 'invalidValue',
  InvalidVers = 'invalidVers',
  Sensitive = 'sensitive',
}

/**
 * A SCIM protocol error (RFC 7644 §3.12). `status` is the HTTP status; the exception filter renders
 * `{ schemas: [Error URN], status: "<status>", scimType?, detail }` as `application/scim+json`.
 */
export class ScimError extends Error {
  constructor(readonly status: number, detail: string, readonly scimType?: ScimType) {
    super(detail);
    this.name = 'ScimError';
  }

  get detail(): string {
    return this.message;
  }

  static invalidFilter(detail: string): ScimError { return new ScimError(400, detail, ScimType.InvalidFilter); }
  static invalidSyntax(detail: string): ScimError { return new ScimError(400, detail, ScimType.InvalidSyntax); }
  static invalidPath(detail: string): ScimError { return new ScimError(400, detail, ScimType.InvalidPath); }
  static invalidValue(detail: string): ScimError { return new ScimError(400, detail, ScimType.InvalidValue); }
  static noTarget(detail: string): ScimError { return new ScimError(400, detail, ScimType.NoTarget); }
  static mutability(detail: string): ScimError { return new ScimError(400, detail, ScimType.Mutability); }
  static tooMany(detail: string): ScimError { return new ScimError(400, detail, ScimType.TooMany); }
  static uniqueness(detail: string): ScimError { return new ScimError(409, detail, ScimType.Uniqueness); }
  static notFound(detail: string): ScimError { return new ScimError(404, detail); }
  static unauthorized(detail = 'Authorization failure: a valid bearer token is required'): ScimError { return new ScimError(401, detail); }
  static forbidden(detail: string): ScimError { return new ScimError(403, detail); }
  static preconditionFailed(detail: string): ScimError { return new ScimError(412, detail); }
  static payloadTooLarge(detail: string): ScimError { return new ScimError(413, detail); }
  static unsupportedMediaType(detail: string): ScimError { return new ScimError(415, detail); }
  static notImplemented(detail: string): ScimError { return new ScimError(501, detail); }
}
