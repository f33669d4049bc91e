export enum MappingErrorCode {
  InvalidPath = 'invalid-path',
  ReservedTarget = 'reserved-target',
  UnsupportedTarget = 'unsupported-target',
}

function messageFor(code: MappingErrorCode, path: string): string {
  switch (code) {
    case MappingErrorCode.InvalidPath:
      return `mapping path "${path}" is not attr, attr.sub, urn:…:attr or attr[sub eq "literal"].sub`;
    case MappingErrorCode.ReservedTarget:
      return `mapping target "${path}" is managed by Switchboard (schemas, id, meta, groups, members)`;
    case MappingErrorCode.UnsupportedTarget:
      return `mapping target "${path}" addresses a sub-attribute of every value of a multi-valued attribute; use a valuePath filter`;
    default:
      return assertNever(code);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled mapping error code ${String(value)}`);
}

/** A mapping entry that cannot be applied. The message names the configured path, never a value. */
export class MappingError extends Error {
  constructor(readonly code: MappingErrorCode, readonly path: string) {
    super(messageFor(code, path));
    this.name = 'MappingError';
  }
}
