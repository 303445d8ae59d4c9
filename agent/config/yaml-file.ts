/**
 * YAML files (configs, signal maps) read with source positions, validated against a zod schema, and every problem
 * reported with file:line:column, the field's dotted path, the value found, what was expected and,
 * for a misspelt key, the key that was probably meant. Used by `qood agent`, `qood node` and
 * `qood config check`, so all three say exactly the same thing about the same file; the agent
 * uses it for signal map files too.
 */
import { readFileSync } from 'node:fs';
import { isAlias, isMap, isSeq, LineCounter, type Node, Parser, parseDocument, visit } from 'yaml';
import type { z } from 'zod';

/** One thing wrong with a config file. `line`/`column` are 1-based and absent when unknown. */
export interface ConfigProblem {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  /** Dotted path of the field, such as `sources.can[0].interface`; `(root)` for the whole file. */
  readonly field: string;
  /** The offending value as JSON, shortened; absent for a missing field. */
  readonly value?: string;
  /** What was expected there. */
  readonly expected: string;
  /** A suggested fix, when one is obvious. */
  readonly fix?: string;
}

export type ConfigResult<T> = { ok: true; config: T } | { ok: false; problems: ConfigProblem[] };

/**
 * Deepest nesting of mappings and sequences a file may have. Real configs stay under 10; the
 * `yaml` composer and `toJS` recurse once per level, so 100,000 nested `[` would overflow the
 * stack (reported as a garbled syntax error, or a RangeError escaping as exit 1).
 */
export const MAX_YAML_DEPTH = 64;

/**
 * Alias expansions allowed (the `yaml` package's measure: uses of an anchor times the aliases
 * inside it). Bounds a "billion laughs" file, nine levels of nine aliases that would expand to
 * 387 million strings, to a refusal before any expansion.
 */
export const MAX_YAML_ALIASES = 100;

/** Formats a problem as one line: `file:line:col: field: found V; expected E (fix)`. */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`;
  const found = p.value === undefined ? '' : ` found ${p.value};`;
  const fix = p.fix === undefined ? '' : ` (${p.fix})`;
  return `${where}: ${p.field}:${found} expected ${p.expected}${fix}`;
}

/** Reads and validates `file`. Never throws for a bad file; throws only for programming errors. */
export function loadConfigFile<S extends z.ZodType>(file: string, schema: S): ConfigResult<z.infer<S>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    return {
      ok: false,
      problems: [{ file, field: '(root)', expected: `a readable YAML file (${reason})` }],
    };
  }
  return parseConfigText(text, file, schema);
}

/** Validates config text; `file` names it in messages. */
export function parseConfigText<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
): ConfigResult<z.infer<S>> {
  const lineCounter = new LineCounter();
  const at = (offset: number): { line: number; column: number } => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  // Defence against a file built to overflow the stack: measure the nesting on the syntax tree
  // (built without recursion) before anything recursive sees it.
  const tooDeep = firstTooDeep(text, lineCounter);
  if (tooDeep !== undefined)
    return {
      ok: false,
      problems: [
        {
          file,
          ...at(tooDeep),
          field: '(nesting)',
          value: `more than ${MAX_YAML_DEPTH} levels`,
          expected: `at most ${MAX_YAML_DEPTH} levels of nested mappings and sequences`,
        },
      ],
    };
  // logLevel 'error': a collection used as a key is reported by the schema as an unknown field,
  // not as a process warning on stderr.
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        file,
        ...at(e.pos[0]),
        field: '(syntax)',
        expected: `valid YAML (${e.message.split('\n')[0]})`,
      })),
    };
  }
  let data: unknown;
  try {
    // Defence against an alias bomb: `yaml` counts expansions and throws a ReferenceError past
    // the limit, before the expansion is built.
    data = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) ?? {};
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    return {
      ok: false,
      problems: [
        {
          file,
          ...firstAliasPosition(doc, at),
          field: '(aliases)',
          value: `more than ${MAX_YAML_ALIASES} alias expansions`,
          expected: `at most ${MAX_YAML_ALIASES} uses of anchors (*name), counting the aliases inside each`,
        },
      ],
    };
  }
  const parsed = schema.safeParse(data);
  if (parsed.success) return { ok: true, config: parsed.data };

  const problems: ConfigProblem[] = [];
  for (const issue of parsed.error.issues) {
    const path = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const keyPath = [...path, key];
        const known = knownKeys(schema, path);
        const guess = closest(key, known);
        problems.push({
          file,
          ...positionOf(doc.contents, keyPath, true, at),
          field: formatPath(keyPath),
          expected: known.length > 0 ? `one of the known fields: ${known.join(', ')}` : 'no such field',
          fix: guess === undefined ? 'remove it' : `did you mean '${guess}'?`,
        });
      }
      continue;
    }
    const value = valueAt(data, path);
    const missing = value === undefined;
    const pos = missing
      ? positionOf(doc.contents, path.slice(0, -1), false, at)
      : positionOf(doc.contents, path, false, at);
    const problem: ConfigProblem = {
      file,
      ...pos,
      field: formatPath(path),
      expected: missing
        ? `a value (the field is required): ${describeExpected(issue.message)}`
        : describeExpected(issue.message),
      ...(missing ? {} : { value: shorten(JSON.stringify(value)) }),
    };
    problems.push(problem);
  }
  return { ok: false, problems };
}

/**
 * Offset of the first mapping or sequence nested deeper than MAX_YAML_DEPTH, or undefined. Walks
 * the concrete syntax tree with an explicit stack; `lineCounter` learns the line starts on the way.
 */
function firstTooDeep(text: string, lineCounter: LineCounter): number | undefined {
  const collections = new Set(['block-map', 'block-seq', 'flow-collection']);
  const stack: [unknown, number][] = [];
  for (const token of new Parser(lineCounter.addNewLine).parse(text)) stack.push([token, 0]);
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    const t = node as { type?: unknown; offset?: unknown };
    const d = typeof t.type === 'string' && collections.has(t.type) ? depth + 1 : depth;
    if (d > MAX_YAML_DEPTH) return typeof t.offset === 'number' ? t.offset : 0;
    for (const child of Object.values(node))
      if (child !== null && typeof child === 'object') stack.push([child, d]);
  }
  return undefined;
}

/** Where the first alias (`*name`) is, for the alias-limit problem. */
function firstAliasPosition(
  doc: ReturnType<typeof parseDocument>,
  at: (offset: number) => { line: number; column: number },
): { line?: number; column?: number } {
  let pos: { line?: number; column?: number } = {};
  visit(doc, {
    Alias(_key, node) {
      if (!isAlias(node) || node.range === undefined || node.range === null) return undefined;
      pos = at(node.range[0]);
      return visit.BREAK;
    },
  });
  return pos;
}

function describeExpected(message: string): string {
  // zod says "Invalid input: expected string, received number" or "Invalid option: expected one
  // of ..."; keep what follows "expected".
  const m = /^Invalid (?:input|option|type|value): expected (.*)$/.exec(message);
  return m?.[1] ?? message;
}

function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const k of path) {
    // A key that is not a plain name (empty, with dots, spaces or quotes) is written as ["key"], so
    // the field of a problem is never blank or ambiguous.
    if (typeof k === 'number') out += `[${k}]`;
    else if (!/^[A-Za-z_$][\w$-]*$/.test(k)) out += `[${JSON.stringify(k)}]`;
    else out += out === '' ? k : `.${k}`;
  }
  return out;
}

function shorten(s: string | undefined): string {
  if (s === undefined) return 'undefined';
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let cur: unknown = data;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

/** Position of the node at `path` (or of its key when `wantKey`), falling back to the nearest parent. */
function positionOf(
  root: Node | null,
  path: readonly (string | number)[],
  wantKey: boolean,
  at: (offset: number) => { line: number; column: number },
): { line?: number; column?: number } {
  let node: Node | null = root;
  let best: { line?: number; column?: number } = node?.range ? at(node.range[0]) : {};
  for (let i = 0; i < path.length; i++) {
    const k = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => {
        const key = p.key as { value?: unknown } | null;
        return key !== null && typeof key === 'object' && key.value === k;
      });
      if (pair === undefined) return best;
      const keyNode = pair.key as Node | null;
      if (last && wantKey && keyNode?.range) return at(keyNode.range[0]);
      node = (pair.value as Node | null) ?? null;
      const r = node?.range ?? keyNode?.range;
      if (r) best = at(r[0]);
    } else if (isSeq(node) && typeof k === 'number') {
      node = (node.items[k] as Node | undefined) ?? null;
      if (node?.range) best = at(node.range[0]);
      else return best;
    } else {
      return best;
    }
  }
  return best;
}

/** Field names the schema allows at `path` (through objects, arrays, optionals and defaults). */
function knownKeys(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  let cur: unknown = schema;
  const unwrap = (s: unknown): unknown => {
    let x = s as { _zod?: { def?: { type?: string; innerType?: unknown; element?: unknown } } };
    for (let i = 0; i < 10; i++) {
      const def = x?._zod?.def;
      if (def?.innerType !== undefined) x = def.innerType as typeof x;
      else break;
    }
    return x;
  };
  for (const k of path) {
    cur = unwrap(cur);
    const def = (
      cur as { _zod?: { def?: { type?: string; element?: unknown; shape?: Record<string, unknown> } } }
    )._zod?.def;
    if (def?.type === 'array' && typeof k === 'number') cur = def.element;
    else if (def?.type === 'object' && typeof k === 'string') cur = def.shape?.[k];
    else return [];
  }
  cur = unwrap(cur);
  const def = (cur as { _zod?: { def?: { type?: string; shape?: Record<string, unknown> } } })._zod?.def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** The known key within edit distance 2 of `key`, if exactly one is closest. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
