import { RE2JS } from 're2js';

/**
 * The regex engine JSONata runs expression regex literals with (`jsonata(expr, { RegexEngine })`,
 * jsonata 2.x `evaluateRegex`): RE2 semantics via re2js, so matching is linear in the input and a
 * pattern such as `/^(a+)+$/` cannot stall the event loop (the expression time box cannot interrupt
 * a synchronous RegExp). JSONata only needs `new Engine(regexp)`, `lastIndex` and `exec(str)`
 * returning `[match, ...groups]` with `index`, as a global RegExp does; indices are UTF-16 units.
 *
 * RE2 has no backreferences and no lookaround: such a pattern throws here, and
 * {@link assertLinearRegex} reports it when the expression is compiled at start.
 */
export class LinearRegExp {
  /** Where the next `exec` starts (JSONata sets it before each call and reads it after a match). */
  lastIndex = 0;
  private readonly pattern: RE2JS;

  /** @throws RE2JSSyntaxException when RE2 does not support the pattern. */
  constructor(regex: RegExp) {
    // translateRegExp carries the `i` and `m` flags over as (?i)/(?m); `g` is implied by lastIndex.
    this.pattern = RE2JS.compile(RE2JS.translateRegExp(regex));
  }

  /** Next match at or after `lastIndex`, as `RegExp.prototype.exec` does for a global regex. */
  exec(input: string): RegExpExecArray | null {
    if (this.lastIndex > input.length) {
      this.lastIndex = 0;
      return null;
    }
    const m = this.pattern.matcher(input);
    if (!m.find(this.lastIndex)) {
      this.lastIndex = 0;
      return null;
    }
    const groups: Array<string | undefined> = [];
    for (let i = 0; i <= this.pattern.groupCount(); i++) groups.push(m.group(i) ?? undefined);
    const result = Object.assign(groups, { index: m.start(), input }) as unknown as RegExpExecArray;
    this.lastIndex = m.end();
    return result;
  }
}

/** Why RE2 refuses `regex` (backreference, lookaround…), or undefined when it compiles. */
export function linearRegexProblem(regex: RegExp): string | undefined {
  try {
    new LinearRegExp(regex);
    return undefined;
  } catch (e) {
    return `regex /${regex.source}/ is not supported (RE2 syntax, linear time: no backreferences or lookaround): ${(e as Error).message}`;
  }
}
