/**
 * Tokeniser for SCIM filters and PATCH paths. Strings are decoded here, once, with every JSON
 * escape (RFC 8259 §7, as RFC 7644 §3.4.2.2 makes compValue a JSON string); the libraries we tried
 * mis-decode `\\`, `\uXXXX` or `\"` (research/scim-libraries.md §2).
 *
 * A word is any run of characters other than whitespace, brackets, parentheses and `"`. The parser
 * decides what a word is (attribute path, operator, keyword, number, bare value), because a URN
 * path (`urn:…:2.0:User:manager.value`) and an unquoted Entra value (`jyoung@contoso.com`) share
 * characters with numbers and names.
 */

export type TokenKind = 'word' | 'string' | '(' | ')' | '[' | ']' | 'end';

export interface Token {
  readonly kind: TokenKind;
  /** 0-based offset into the source; errors report it 1-based. */
  readonly pos: number;
  /** The source text of the token (for a string, with its quotes and escapes). */
  readonly text: string;
  /** The decoded value of a string token. */
  readonly value?: string;
}

/** Raises a syntax error at a 0-based offset; the caller picks the SCIM error type and wording. */
export type Fail = (pos: number, message: string) => never;

const PUNCTUATION = new Set(['(', ')', '[', ']']);
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
}

function isWordChar(ch: string): boolean {
  return !isSpace(ch) && !PUNCTUATION.has(ch) && ch !== '"';
}

/** Splits `source` into tokens, ending with one `end` token. */
export function lex(source: string, fail: Fail): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (isSpace(ch)) {
      i++;
    } else if (PUNCTUATION.has(ch)) {
      tokens.push({ kind: ch as TokenKind, pos: i, text: ch });
      i++;
    } else if (ch === '"') {
      const token = readString(source, i, fail);
      tokens.push(token);
      i += token.text.length;
    } else {
      const start = i;
      while (i < source.length && isWordChar(source[i]!)) i++;
      tokens.push({ kind: 'word', pos: start, text: source.slice(start, i) });
    }
  }
  tokens.push({ kind: 'end', pos: source.length, text: '' });
  return tokens;
}

function readString(source: string, start: number, fail: Fail): Token {
  let value = '';
  let chunk = start + 1; // start of the run of plain characters not yet copied into `value`
  let i = chunk;
  while (i < source.length) {
    const code = source.charCodeAt(i);
    if (code === 0x22 /* " */) {
      value += source.slice(chunk, i);
      return { kind: 'string', pos: start, text: source.slice(start, i + 1), value };
    }
    if (code === 0x5c /* \ */) {
      const [decoded, length] = readEscape(source, i, fail);
      value += source.slice(chunk, i) + decoded;
      i += length;
      chunk = i;
      continue;
    }
    if (code < 0x20) fail(i, `control character U+${hex4(code)} in a string must be escaped`);
    if (isHighSurrogate(code) && !isLowSurrogate(source.charCodeAt(i + 1))) fail(i, 'unpaired surrogate in string');
    if (isLowSurrogate(code) && !isHighSurrogate(source.charCodeAt(i - 1))) fail(i, 'unpaired surrogate in string');
    i++;
  }
  return fail(start, 'unterminated string (no closing \'"\')');
}

/** Decodes the escape at `source[at] === '\\'`; returns the text and how many characters it used. */
function readEscape(source: string, at: number, fail: Fail): [string, number] {
  const letter = source[at + 1];
  if (letter === undefined) return fail(at, 'unterminated string (no closing \'"\')');
  const simple = SIMPLE_ESCAPES[letter];
  if (simple !== undefined) return [simple, 2];
  if (letter !== 'u') return fail(at, `invalid escape "\\${letter}" in string`);
  const unit = readHex4(source, at, fail);
  if (isLowSurrogate(unit)) return fail(at, 'unpaired surrogate escape in string');
  if (!isHighSurrogate(unit)) return [String.fromCharCode(unit), 6];
  // A high surrogate must be followed by an escaped low surrogate (RFC 8259 §7).
  if (source[at + 6] !== '\\' || source[at + 7] !== 'u') return fail(at, 'unpaired surrogate escape in string');
  const low = readHex4(source, at + 6, fail);
  if (!isLowSurrogate(low)) return fail(at, 'unpaired surrogate escape in string');
  return [String.fromCharCode(unit, low), 12];
}

function readHex4(source: string, at: number, fail: Fail): number {
  const digits = source.slice(at + 2, at + 6);
  if (!/^[0-9A-Fa-f]{4}$/.test(digits)) return fail(at, 'invalid \\u escape: expected four hex digits');
  return parseInt(digits, 16);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function hex4(code: number): string {
  return code.toString(16).toUpperCase().padStart(4, '0');
}

/** How a token reads in an error message: `"eq2"`, `"("`, or `end of input`. */
export function describeToken(token: Token): string {
  if (token.kind === 'end') return 'end of input';
  const text = token.text.length > 40 ? `${token.text.slice(0, 37)}...` : token.text;
  return token.kind === 'string' ? text : `"${text}"`;
}
