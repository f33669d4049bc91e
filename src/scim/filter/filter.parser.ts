/**
 * One recursive-descent parser for SCIM filters (RFC 7644 §3.4.2.2, Figure 1 with errata) and
 * PATCH paths (RFC 7644 §3.5.2: `PATH = attrPath / valuePath [subAttr]`).
 *
 * Our own code: the npm parsers mis-decode JSON escapes, reject URN-qualified paths, turn
 * `emails[type eq "work"].value` into an uncorrelated AND, overflow the stack on deep nesting and
 * report no positions (research/scim-libraries.md §2). Here every error is a ScimError with the
 * 1-based column and what was expected, and limits are checked before parsing.
 *
 * Grammar (precedence not > and > or; keywords and operators case-insensitive):
 *   filter    = orExp
 *   orExp     = andExp *("or" andExp)
 *   andExp    = unary *("and" unary)
 *   unary     = "not" "(" orExp ")" / "(" orExp ")" / attrExp
 *   attrExp   = attrPath "[" orExp "]" ["." subAttr ("pr" / compareOp compValue)]  ; valuePath
 *             / attrPath ("pr" / compareOp compValue)
 *
 * Leniencies, because real clients send them:
 * - A bare word as a value (`externalId eq jyoung`, documented by Microsoft Entra) is read as a
 *   string unless it is true/false/null or a JSON number. `allowBareWords: false` turns this off.
 * - `emails[type eq "work"].value eq "x"` in a filter (Entra) becomes
 *   `emails[type eq "work" and value eq "x"]`: same-element semantics are kept.
 * - Any whitespace (not only SP) separates tokens, and none is needed around brackets or strings.
 */
import { ScimError } from '../scim.error.js';
import {
  COMPARE_OPS,
  type AttrPath,
  type CompValue,
  type CompareOp,
  type Filter,
  type PatchPath,
} from './filter.ast.js';
import { describeToken, lex, type Fail, type Token } from './filter.lexer.js';

export interface FilterParseOptions {
  /** Longest accepted input, in UTF-16 code units; checked before any other work. */
  readonly maxLength: number;
  /** Deepest nesting of parentheses, `not` and `[…]`. */
  readonly maxDepth: number;
  /** Read an unquoted non-keyword, non-number value as a string (Entra). Default true. */
  readonly allowBareWords?: boolean;
  /**
   * The schema URNs a path may start with (the registry's). When given, a URN-qualified path is
   * split after the longest of them it starts with (case-insensitive), never at a fixed `:`; a path
   * starting with `urn:` and none of them is an error.
   */
  readonly schemaUrns?: readonly string[];
}

export const DEFAULT_FILTER_LIMITS: FilterParseOptions = { maxLength: 2048, maxDepth: 16, allowBareWords: true };

const ATTRIBUTE_NAME = /^\$?[A-Za-z][A-Za-z0-9_-]*$/;
const LOCAL_PATH = /^(\$?[A-Za-z][A-Za-z0-9_-]*)(?:\.(\$?[A-Za-z][A-Za-z0-9_-]*))?$/;
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const PATH_CHARS = /[^A-Za-z0-9:._$-]/;
const OPERATORS: ReadonlySet<string> = new Set(COMPARE_OPS);
const RESERVED_WORDS: ReadonlySet<string> = new Set([...COMPARE_OPS, 'pr', 'and', 'or', 'not']);

/**
 * Parses a `filter` query parameter or SearchRequest `filter`.
 * @throws ScimError 400 invalidFilter, with the position of the problem.
 */
export function parseFilter(text: string, options: Partial<FilterParseOptions> = {}): Filter {
  const parser = new Parser(text, { ...DEFAULT_FILTER_LIMITS, ...options }, 'filter');
  const filter = parser.parseOr(0);
  parser.expectEnd('"and", "or" or end of input');
  return filter;
}

/**
 * Parses a PATCH operation `path`: `members`, `name.givenName`, `urn:…:User:manager.value`,
 * a bare extension URN, `members[value eq "x"]`, `emails[type eq "work"].value`.
 * @throws ScimError 400 invalidPath, with the position of the problem.
 */
export function parsePatchPath(text: string, options: Partial<FilterParseOptions> = {}): PatchPath {
  const parser = new Parser(text, { ...DEFAULT_FILTER_LIMITS, ...options }, 'path');
  return parser.parsePatchPath();
}

class Parser {
  private readonly tokens: Token[];
  private index = 0;
  /** Inside `[…]`, where RFC 7644 allows only sub-attribute expressions. */
  private inValuePath = false;

  constructor(
    private readonly source: string,
    private readonly options: FilterParseOptions,
    private readonly label: 'filter' | 'path',
  ) {
    // Express turns `?filter=a&filter=b` into an array; refuse it rather than parse it oddly.
    if (typeof source !== 'string') throw this.error(`${this.title()} must be a single string`);
    if (source.length > options.maxLength) {
      throw this.error(`${this.title()} is too long: ${source.length} characters, the limit is ${options.maxLength}`);
    }
    this.tokens = lex(source, this.fail);
  }

  parsePatchPath(): PatchPath {
    const attrPath = this.parseAttrPath(this.expectWord('an attribute path'));
    if (this.peek().kind !== '[') {
      this.expectEnd('"[" or end of input');
      return { attrPath };
    }
    const open = this.next();
    this.checkValuePathTarget(attrPath, open);
    const valueFilter = this.parseBracketed(open, 0);
    const after = this.peek();
    if (after.kind === 'word' && after.text.startsWith('.')) {
      this.next();
      const subAttr = this.parseSubAttr(after);
      this.expectEnd('end of input');
      return { attrPath, valueFilter, subAttr };
    }
    this.expectEnd('"." followed by a sub-attribute, or end of input');
    return { attrPath, valueFilter };
  }

  parseOr(depth: number): Filter {
    let left = this.parseAnd(depth);
    while (this.peekKeyword('or')) {
      this.next();
      left = { kind: 'or', left, right: this.parseAnd(depth) };
    }
    return left;
  }

  expectEnd(expected: string): void {
    const token = this.peek();
    if (token.kind !== 'end') this.fail(token.pos, `expected ${expected}, found ${describeToken(token)}`);
  }

  private parseAnd(depth: number): Filter {
    let left = this.parseUnary(depth);
    while (this.peekKeyword('and')) {
      this.next();
      left = { kind: 'and', left, right: this.parseUnary(depth) };
    }
    return left;
  }

  private parseUnary(depth: number): Filter {
    const token = this.peek();
    // `not` is a keyword only before '(' (Figure 1); otherwise it is an attribute name.
    if (this.peekKeyword('not') && this.peek(1).kind === '(') {
      this.next();
      const open = this.next();
      this.enter(depth, open);
      const filter = this.parseOr(depth + 1);
      this.expectClose(')', open);
      return { kind: 'not', filter };
    }
    if (token.kind === '(') {
      this.next();
      this.enter(depth, token);
      const filter = this.parseOr(depth + 1);
      this.expectClose(')', token);
      return filter;
    }
    if (token.kind === 'word') return this.parseAttrExpression(depth);
    return this.fail(token.pos, `expected an attribute path, "(" or "not", found ${describeToken(token)}`);
  }

  private parseAttrExpression(depth: number): Filter {
    const pathToken = this.next();
    const path = this.parseAttrPath(pathToken);
    if (this.peek().kind === '[') {
      const open = this.next();
      if (this.inValuePath) this.fail(open.pos, 'a valuePath cannot be nested inside another valuePath');
      this.checkValuePathTarget(path, open);
      const filter = this.parseBracketed(open, depth);
      const after = this.peek();
      if (after.kind !== 'word' || !after.text.startsWith('.')) return { kind: 'valuePath', path, filter };
      // Entra: `emails[type eq "work"].value eq "x"` keeps the match on one element.
      this.next();
      const sub = this.parseSubAttr(after);
      const condition = this.parseCondition({ attr: sub });
      return { kind: 'valuePath', path, filter: { kind: 'and', left: filter, right: condition } };
    }
    return this.parseCondition(path);
  }

  /** `pr`, or an operator and a value, after an attribute path. */
  private parseCondition(path: AttrPath): Filter {
    const opToken = this.peek();
    const op = opToken.kind === 'word' ? opToken.text.toLowerCase() : '';
    if (op === 'pr') {
      this.next();
      return { kind: 'present', path };
    }
    if (!OPERATORS.has(op)) {
      return this.fail(opToken.pos, `expected a comparison operator, found ${describeToken(opToken)}`);
    }
    this.next();
    return { kind: 'compare', path, op: op as CompareOp, value: this.parseValue() };
  }

  private parseValue(): CompValue {
    const token = this.peek();
    if (token.kind === 'string') {
      this.next();
      return token.value!;
    }
    if (token.kind === 'word') {
      const lower = token.text.toLowerCase();
      const literal = lower === 'true' ? true : lower === 'false' ? false : lower === 'null' ? null : undefined;
      if (literal !== undefined) {
        this.next();
        return literal;
      }
      if (JSON_NUMBER.test(token.text)) {
        const value = Number(token.text);
        if (!Number.isFinite(value)) this.fail(token.pos, `number ${token.text} is out of range`);
        this.next();
        return value;
      }
      // A single-quoted word is a client's mistake, not a bare value: searching for the quotes would match nothing.
      const quoted = token.text.startsWith("'") || token.text.endsWith("'");
      if (this.options.allowBareWords !== false && !RESERVED_WORDS.has(lower) && !quoted) {
        this.next();
        return token.text;
      }
    }
    return this.fail(
      token.pos,
      `expected a value (a quoted string, number, true, false or null), found ${describeToken(token)}`,
    );
  }

  /** Parses the filter inside `[…]`; `open` is the '[' token, already consumed. */
  private parseBracketed(open: Token, depth: number): Filter {
    this.enter(depth, open);
    this.inValuePath = true;
    const filter = this.parseOr(depth + 1);
    this.inValuePath = false;
    this.expectClose(']', open);
    return filter;
  }

  private checkValuePathTarget(path: AttrPath, open: Token): void {
    if (path.sub !== undefined) {
      this.fail(open.pos, `"[" must follow an attribute, not the sub-attribute "${path.attr}.${path.sub}"`);
    }
  }

  /**
   * Splits a path word at its last ':' (the URN prefix) and first '.' after it. With a URN prefix
   * the remainder may be the tail of a bare URN (`…:enterprise:2.0:User`, `urn:acme:v1.2`), so it is
   * kept whole when it is not `name[.name]`; the registry resolves the exact text either way.
   */
  private parseAttrPath(token: Token): AttrPath {
    const text = token.text;
    const bad = PATH_CHARS.exec(text);
    if (bad) this.fail(token.pos + bad.index, `invalid character "${bad[0]}" in attribute path "${text}"`);
    if (this.options.schemaUrns && text.includes(':')) return this.splitKnownUrn(token);
    const colon = text.lastIndexOf(':');
    const local = text.slice(colon + 1);
    const match = LOCAL_PATH.exec(local);
    if (colon < 0) {
      if (!match) this.fail(token.pos, `expected an attribute path, found ${describeToken(token)}`);
      return match![2] === undefined ? { attr: match![1]! } : { attr: match![1]!, sub: match![2] };
    }
    const uri = text.slice(0, colon);
    if (!/^[A-Za-z][A-Za-z0-9.+-]*:/.test(text) || uri.endsWith(':') || local === '' || local.startsWith('.')) {
      this.fail(token.pos, `expected an attribute path, found ${describeToken(token)}`);
    }
    if (!match) return { uri, attr: local };
    return match[2] === undefined ? { uri, attr: match[1]! } : { uri, attr: match[1]!, sub: match[2] };
  }

  /**
   * `<schema URN>:<attr>[.<sub>]`, the URN being the longest registered one the text starts with
   * (RFC 7644 §3.10); a bare registered URN keeps the legacy split at its last ':' (see AttrPath).
   */
  private splitKnownUrn(token: Token): AttrPath {
    const text = token.text;
    const lower = text.toLowerCase();
    let urn: string | undefined;
    for (const candidate of this.options.schemaUrns ?? []) {
      const c = candidate.toLowerCase();
      const fits = lower === c || (lower.startsWith(c) && lower[c.length] === ':');
      if (fits && (urn === undefined || c.length > urn.length)) urn = candidate;
    }
    if (urn === undefined) return this.fail(token.pos, `"${text}" does not start with a known schema URN`);
    if (lower === urn.toLowerCase()) {
      const colon = text.lastIndexOf(':');
      return { uri: text.slice(0, colon), attr: text.slice(colon + 1) };
    }
    const uri = text.slice(0, urn.length);
    const match = LOCAL_PATH.exec(text.slice(urn.length + 1));
    if (!match) return this.fail(token.pos + urn.length + 1, `expected an attribute name after the schema URN "${uri}", found "${text.slice(urn.length + 1)}"`);
    return match[2] === undefined ? { uri, attr: match[1]! } : { uri, attr: match[1]!, sub: match[2] };
  }

  /** A `.name` word after ']'. */
  private parseSubAttr(token: Token): string {
    const name = token.text.slice(1);
    if (!ATTRIBUTE_NAME.test(name)) {
      this.fail(token.pos, `expected a sub-attribute name after "]", found ${describeToken(token)}`);
    }
    return name;
  }

  private enter(depth: number, at: Token): void {
    if (depth + 1 > this.options.maxDepth) {
      this.fail(at.pos, `nesting is deeper than ${this.options.maxDepth} levels`);
    }
  }

  private expectClose(kind: ')' | ']', open: Token): void {
    const token = this.peek();
    if (token.kind === kind) {
      this.next();
      return;
    }
    this.fail(token.pos, `expected "${kind}" to close "${open.text}" at position ${open.pos + 1}, found ${describeToken(token)}`);
  }

  private expectWord(expected: string): Token {
    const token = this.peek();
    if (token.kind !== 'word') this.fail(token.pos, `expected ${expected}, found ${describeToken(token)}`);
    return this.next();
  }

  private peekKeyword(keyword: string): boolean {
    const token = this.peek();
    return token.kind === 'word' && token.text.toLowerCase() === keyword;
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const token = this.peek();
    if (this.index < this.tokens.length - 1) this.index++;
    return token;
  }

  private title(): string {
    return this.label === 'filter' ? 'Filter' : 'Path';
  }

  private error(detail: string): ScimError {
    return this.label === 'filter' ? ScimError.invalidFilter(detail) : ScimError.invalidPath(detail);
  }

  private readonly fail: Fail = (pos, message) => {
    throw this.error(`Invalid ${this.label} at position ${pos + 1}: ${message}`);
  };
}
