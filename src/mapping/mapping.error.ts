export enum MappingErrorCode {
  /** A source or target path that is not a SCIM attribute path we can read or write. */
  InvalidPath = 'invalid-path',
  /** A well-formed source path naming no attribute of a schema Switchboard knows (a typo: nothing is stored there). */
  UnknownAttribute = 'unknown-attribute',
  /** A target Switchboard owns (`schemas`, `id`, `meta`, `groups`, `members`). */
  ReservedTarget = 'reserved-target',
  /** A target that names no single place to write (`emails.value`, a valuePath filter other than `eq`). */
  UnsupportedTarget = 'unsupported-target',
  /** A JSONata expression that does not compile or calls an unknown function. */
  InvalidExpression = 'invalid-expression',
  /** A JSONata expression failed, timed out or produced a value JSON cannot hold, for one resource. */
  ExpressionFailed = 'expression-failed',
  /** A `scope` or `groups.filter` that is not a valid SCIM filter on the canonical resource. */
  InvalidFilter = 'invalid-filter',
  /** A mapped value whose JSON type is not the target attribute's SCIM type (RFC 7643 §2.3). */
  TypeMismatch = 'type-mismatch',
}

function messageFor(code: MappingErrorCode, path: string, detail: string | undefined): string {
  const why = detail ? `: ${detail}` : '';
  switch (code) {
    case MappingErrorCode.InvalidPath:
      return `mapping path "${path}" is not a SCIM attribute path (attr, attr.sub, urn:…:attr, attr[sub eq "literal"].sub)${why}`;
    case MappingErrorCode.UnknownAttribute:
      return `unknown attribute ${path}${detail ? ` in schema ${detail}` : ''}`;
    case MappingErrorCode.ReservedTarget:
      return `mapping target "${path}" is managed by Switchboard (schemas, id, meta, groups, members)`;
    case MappingErrorCode.UnsupportedTarget:
      return `mapping target "${path}" names no single place to write${why || ': use a valuePath filter such as emails[type eq "work"].value'}`;
    case MappingErrorCode.InvalidExpression:
      return `mapping expression for "${path}" is invalid${why}`;
    case MappingErrorCode.ExpressionFailed:
      return `mapping expression for "${path}" failed${why}`;
    case MappingErrorCode.InvalidFilter:
      return `filter "${path}" is invalid${why}`;
    case MappingErrorCode.TypeMismatch:
      return `mapping ${path} produced a value of the wrong type${why}`;
    default:
      return assertNever(code);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled mapping error code ${String(value)}`);
}

/**
 * A mapping entry that cannot be applied. At start it becomes a ConfigError line; during a push the worker
 * host turns it into a permanent per-resource failure (dead letter). The message names the configured
 * path and the library's reason, never a resource value.
 */
export class MappingError extends Error {
  constructor(readonly code: MappingErrorCode, readonly path: string, readonly detail?: string) {
    super(messageFor(code, path, detail));
    this.name = 'MappingError';
  }
}
