import jsonata from 'jsonata';
import { getCI, isObject } from '../common/json.util.js';
import type { Json } from '../common/json.util.js';
import { ENTERPRISE_USER_SCHEMA } from '../scim/scim.constants.js';
import { JSONATA_BUILTINS, MAPPING_FUNCTIONS } from './expression-functions.js';
import { LinearRegExp, linearRegexProblem } from './linear-regex.js';
import { MappingError, MappingErrorCode } from './mapping.error.js';

/**
 * Guard rails per evaluation (JSONata 2.2 `timeout` / `stack` / `sequence` options): a runaway expression
 * fails one push, not the worker. The timeout is wall-clock, so it is generous: a busy event loop must not
 * turn a sound expression into a dead letter; recursion and huge sequences hit the other two limits first.
 */
export const EXPRESSION_LIMITS = { timeoutMs: 2000, maxDepth: 200, maxSequence: 10_000 } as const;

/** Variables every expression may use besides the input document (README "Expressions"). */
const BOUND_NAMES = ['enterprise', 'groups', 'id', 'resourceType', 'extension'] as const;

/** What an expression sees besides `$` (the canonical document). */
export interface ExpressionScope {
  /** The canonical id. */
  id: string;
  resourceType: 'User' | 'Group';
  /** The user's groups (`{ value, display }`) when the caller knows them. */
  groups?: ReadonlyArray<{ value: string; display?: string }>;
}

/** A JSONata expression compiled once at start. */
export interface CompiledExpression {
  readonly text: string;
  /**
   * Evaluates over the canonical document. Absent (no match) comes back as `undefined`; the result is
   * plain JSON (JSONata sequences flattened to arrays).
   * @throws MappingError ExpressionFailed on a runtime error, a timeout, or a function as result.
   */
  evaluate(doc: Json, scope: ExpressionScope): Promise<unknown>;
}

/**
 * Compiles `text` with JSONata and checks every function it calls is a JSONata built-in, one of
 * MAPPING_FUNCTIONS, a bound name or a function the expression defines itself: JSONata reports an
 * unknown function only when the call runs, which would be at push time.
 * @throws MappingError InvalidExpression (the message carries JSONata's code and position).
 */
export function compileExpression(text: string, label: string): CompiledExpression {
  let expr: jsonata.Expression;
  try {
    expr = jsonata(text, {
      timeout: EXPRESSION_LIMITS.timeoutMs,
      stack: EXPRESSION_LIMITS.maxDepth,
      sequence: EXPRESSION_LIMITS.maxSequence,
      // Linear-time matching: the time box cannot interrupt a synchronous backtracking RegExp (ReDoS).
      RegexEngine: LinearRegExp as unknown as RegExpConstructor,
    });
  } catch (e) {
    throw new MappingError(MappingErrorCode.InvalidExpression, label, describe(e));
  }
  const regexProblem = regexLiterals(expr.ast()).map(linearRegexProblem).find(p => p !== undefined);
  if (regexProblem) throw new MappingError(MappingErrorCode.InvalidExpression, label, regexProblem);
  const unknown = unknownFunctions(expr.ast());
  if (unknown.length) {
    throw new MappingError(MappingErrorCode.InvalidExpression, label, `unknown function ${unknown.map(n => `$${n}`).join(', ')}`);
  }
  for (const [name, fn] of Object.entries(MAPPING_FUNCTIONS)) expr.registerFunction(name, fn.implementation, fn.signature);
  return {
    text,
    async evaluate(doc: Json, scope: ExpressionScope): Promise<unknown> {
      // `password` is stored hashed and write-only (RFC 7643 §4.1.1): expressions never see it.
      const { password: _hidden, ...visible } = doc;
      const input = scope.groups ? { ...visible, groups: scope.groups } : visible;
      const bindings = {
        enterprise: getCI(doc, ENTERPRISE_USER_SCHEMA),
        groups: scope.groups ?? getCI(doc, 'groups'),
        id: scope.id,
        resourceType: scope.resourceType,
        extension: (urn: unknown) => (typeof urn === 'string' ? getCI(doc, urn) : undefined),
      };
      let result: unknown;
      try {
        result = await expr.evaluate(input, bindings);
      } catch (e) {
        throw new MappingError(MappingErrorCode.ExpressionFailed, label, describe(e));
      }
      return toJson(result, label);
    },
  };
}

/** Plain JSON from a JSONata result: sequences become arrays, functions are refused. */
function toJson(value: unknown, label: string): unknown {
  if (value === undefined) return undefined;
  const fn = typeof value === 'function' || (isObject(value) && (value._jsonata_function === true || value._jsonata_lambda === true));
  if (fn) throw new MappingError(MappingErrorCode.ExpressionFailed, label, 'the result is a function, not a value');
  if (typeof value === 'number' && !Number.isFinite(value)) throw new MappingError(MappingErrorCode.ExpressionFailed, label, 'the result is not a finite number');
  if (Array.isArray(value)) {
    const items = value.map(v => toJson(v, label)).filter(v => v !== undefined);
    return items;
  }
  if (isObject(value)) {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) {
      const j = toJson(v, label);
      if (j !== undefined) out[k] = j;
    }
    return out;
  }
  return value;
}

/** JSONata errors are plain objects `{ code, position, message }`. */
function describe(e: unknown): string {
  const err = e as { code?: string; position?: number; message?: string };
  const where = typeof err.position === 'number' ? ` at position ${err.position}` : '';
  const message = (err.message ?? String(e)).slice(0, 300);
  return err.code ? `${err.code}${where}: ${message}` : message;
}

/** Every regex literal in `ast`: checked against RE2 at start rather than failing at push time. */
function regexLiterals(ast: unknown): RegExp[] {
  const found: RegExp[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!isObject(node)) return;
    if (node.type === 'regex' && node.value instanceof RegExp) found.push(node.value);
    for (const [key, child] of Object.entries(node)) if (key !== 'position') walk(child);
  };
  walk(ast);
  return found;
}

/** Names of functions called in `ast` that nothing defines. */
function unknownFunctions(ast: unknown): string[] {
  const called = new Set<string>();
  const defined = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!isObject(node)) return;
    if ((node.type === 'function' || node.type === 'partial') && isObject(node.procedure) && node.procedure.type === 'variable') {
      called.add(String(node.procedure.value));
    }
    if (node.type === 'bind' && isObject(node.lhs) && node.lhs.type === 'variable') defined.add(String(node.lhs.value));
    if (node.type === 'lambda' && Array.isArray(node.arguments)) {
      for (const a of node.arguments) if (isObject(a) && a.type === 'variable') defined.add(String(a.value));
    }
    for (const [key, child] of Object.entries(node)) if (key !== 'position') walk(child);
  };
  walk(ast);
  const known = (n: string) => JSONATA_BUILTINS.has(n) || n in MAPPING_FUNCTIONS || (BOUND_NAMES as readonly string[]).includes(n) || defined.has(n);
  return [...called].filter(n => !known(n)).sort();
}
