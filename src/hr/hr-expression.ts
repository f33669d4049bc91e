import jsonata from 'jsonata';

/** A JSONata error with the source field it came from (stored as an event's `reason`). */
export class HrExpressionError extends Error {}

const cache = new Map<string, jsonata.Expression>();

/** Compiles once per distinct text (config is static), so a webhook never pays for parsing twice. */
function compile(text: string, what: string): jsonata.Expression {
  let e = cache.get(text);
  if (!e) {
    try {
      e = jsonata(text);
    } catch (err) {
      throw new HrExpressionError(`${what}: invalid JSONata: ${(err as Error).message}`);
    }
    cache.set(text, e);
  }
  return e;
}

/**
 * Evaluates a source's JSONata expression over an event payload (JSONata 2.x: async, so bound
 * functions such as `$canonicalId` may query the store). Undefined when the expression matches nothing.
 */
export async function evaluate(text: string, input: unknown, what: string, bindings?: Record<string, unknown>): Promise<unknown> {
  try {
    return await compile(text, what).evaluate(input, bindings);
  } catch (err) {
    if (err instanceof HrExpressionError) throw err;
    throw new HrExpressionError(`${what}: ${(err as Error).message}`);
  }
}
