/** Most operations one BulkRequest may carry (RFC 7644 §3.7.4; advertised in /ServiceProviderConfig). */
export const BULK_MAX_OPERATIONS = 1000;
/** Largest BulkRequest body in bytes, measured on the raw body (RFC 7644 §3.7.4). Below the 10 MB JSON parser limit. */
export const BULK_MAX_PAYLOAD_SIZE = 1_048_576;
