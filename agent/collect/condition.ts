/**
 * Trigger conditions of collection windows: a small expression language over live signal values,
 *
 *   Vehicle.Acceleration.Longitudinal < -4 or Vehicle.Body.Airbag.IsDeployed == true
 *
 * Comparisons `PATH OP LITERAL` (OP one of < <= > >= == !=; LITERAL a number, true, false or a
 * 'quoted string') joined by `and` / `or` (and binds tighter), with `not` and parentheses. A path with
 * no value yet makes its comparison false. Parsing reports the column and what was expected.
 */

/** A compiled condition: true when it holds over `lookup`. */
export interface Condition {
  readonly source: string;
  /** Every path the condition reads. */
  readonly paths: readonly string[];
  evaluate(lookup: (path: string) => number | string | boolean | undefined): boolean;
}

/** A condition that does not parse: `column` is 1-based into the source. */
export class ConditionError extends Error {
  constructor(
    readonly source: string,
    readonly column: number,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`condition '${source}', column ${column}: expected ${expected}, found ${found}`);
    this.name = 'ConditionError';
  }
}

type Literal = number | string | boolean;
type Op = '<' | '<=' | '>' | '>=' | '==' | '!=';
type Node =
  | { k: 'cmp'; path: string; op: Op; lit: Literal }
  | { k: 'and' | 'or'; a: Node; b: Node }
  | { k: 'not'; a: Node };

interface Token {
  readonly text: string;
  readonly kind: 'path' | 'num' | 'str' | 'op' | 'word' | 'lp' | 'rp' | 'end';
  readonly col: number;
}

const TOKEN =
  /\s*(?:(?<lp>\()|(?<rp>\))|(?<op><=|>=|==|!=|<|>)|(?<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(?<str>'[^']*')|(?<id>[A-Za-z_][A-Za-z0-9_.]*))/y;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(src);
    if (!m?.groups) {
      const col = pos + (src.slice(pos).length - src.slice(pos).trimStart().length) + 1;
      throw new ConditionError(
        src,
        col,
        'a signal path, a comparison, a value or a parenthesis',
        `'${src[col - 1]}'`,
      );
    }
    const g = m.groups;
    const text = m[0].trim();
    const col = m.index + (m[0].length - m[0].trimStart().length) + 1;
    if (g.lp) out.push({ text, kind: 'lp', col });
    else if (g.rp) out.push({ text, kind: 'rp', col });
    else if (g.op) out.push({ text, kind: 'op', col });
    else if (g.num) out.push({ text, kind: 'num', col });
    else if (g.str) out.push({ text, kind: 'str', col });
    else if (/^(and|or|not|true|false)$/.test(text)) out.push({ text, kind: 'word', col });
    else out.push({ text, kind: 'path', col });
    pos = TOKEN.lastIndex;
  }
  out.push({ text: '', kind: 'end', col: src.length + 1 });
  return out;
}

class Parser {
  #i = 0;
  readonly paths = new Set<string>();
  readonly #src: string;
  readonly #toks: Token[];

  constructor(src: string, toks: Token[]) {
    this.#src = src;
    this.#toks = toks;
  }

  parse(): Node {
    const n = this.#or();
    const t = this.#peek();
    if (t.kind !== 'end') this.#fail(t, "'and', 'or' or the end");
    return n;
  }

  #peek(): Token {
    return this.#toks[this.#i]!;
  }

  #next(): Token {
    return this.#toks[this.#i++]!;
  }

  #fail(t: Token, expected: string): never {
    throw new ConditionError(this.#src, t.col, expected, t.kind === 'end' ? 'the end' : `'${t.text}'`);
  }

  #or(): Node {
    let a = this.#and();
    while (this.#peek().text === 'or') {
      this.#next();
      a = { k: 'or', a, b: this.#and() };
    }
    return a;
  }

  #and(): Node {
    let a = this.#unary();
    while (this.#peek().text === 'and') {
      this.#next();
      a = { k: 'and', a, b: this.#unary() };
    }
    return a;
  }

  #unary(): Node {
    const t = this.#peek();
    if (t.text === 'not') {
      this.#next();
      return { k: 'not', a: this.#unary() };
    }
    if (t.kind === 'lp') {
      this.#next();
      const n = this.#or();
      const r = this.#next();
      if (r.kind !== 'rp') this.#fail(r, "')'");
      return n;
    }
    return this.#comparison();
  }

  #comparison(): Node {
    const p = this.#next();
    if (p.kind !== 'path' || !p.text.includes('.')) this.#fail(p, 'a signal path such as Vehicle.Speed');
    const op = this.#next();
    if (op.kind !== 'op') this.#fail(op, 'a comparison (< <= > >= == !=)');
    const l = this.#next();
    let lit: Literal;
    if (l.kind === 'num') lit = Number(l.text);
    else if (l.kind === 'str') lit = l.text.slice(1, -1);
    else if (l.text === 'true' || l.text === 'false') lit = l.text === 'true';
    else this.#fail(l, "a number, true, false or a 'quoted string'");
    if (typeof lit !== 'number' && !['==', '!='].includes(op.text))
      this.#fail(op, `== or != (only numbers are ordered)`);
    this.paths.add(p.text);
    return { k: 'cmp', path: p.text, op: op.text as Op, lit };
  }
}

function evaluate(n: Node, lookup: (path: string) => Literal | undefined): boolean {
  switch (n.k) {
    case 'and':
      return evaluate(n.a, lookup) && evaluate(n.b, lookup);
    case 'or':
      return evaluate(n.a, lookup) || evaluate(n.b, lookup);
    case 'not':
      return !evaluate(n.a, lookup);
    case 'cmp': {
      const v = lookup(n.path);
      if (v === undefined) return false;
      switch (n.op) {
        case '==':
          return v === n.lit;
        case '!=':
          return v !== n.lit;
        default: {
          if (typeof v !== 'number') return false;
          const lit = n.lit as number;
          if (n.op === '<') return v < lit;
          if (n.op === '<=') return v <= lit;
          if (n.op === '>') return v > lit;
          return v >= lit;
        }
      }
    }
  }
}

/** Parses a condition; throws ConditionError naming the column and what was expected. */
export function parseCondition(source: string): Condition {
  const parser = new Parser(source, tokenize(source));
  const root = parser.parse();
  return { source, paths: [...parser.paths], evaluate: (lookup) => evaluate(root, lookup) };
}
