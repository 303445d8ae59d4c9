/**
 * The room boundaries of ARCHITECTURE.md as a checker. `ROOM_RULES` has one row per top-level folder
 * saying what of ours it may import (a whole room, or only that room's `index.ts`); on top of the table:
 * chain/ loads no I/O library or native module; nothing but the `qood` command lives in or imports
 * cli/ (the few test files in `CLI_IMPORT_EXCEPTIONS` aside); each third-party I/O library is
 * value-imported by at most one adapter file per room (`import type` is free); no source file reaches
 * itself through its imports; and every folder holding sources has a row, so a new room cannot slip
 * past unchecked. Imports are read with the TypeScript parser, so comments and strings that look like
 * imports do not count.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** What one room may import of ours. */
export interface RoomRule {
  /** The top-level folder. */
  readonly room: string;
  /** Outside itself: `x/` is any file of room x, `x/index.ts` is that entry file only. */
  readonly mayImport: readonly string[];
  /** Loads no I/O library and no native module (`PURE_FORBIDDEN`), not even for a type. */
  readonly pure?: true;
  /** Exempt from the one-adapter-per-I/O-library rule (tests use the real libraries freely). */
  readonly anyAdapters?: true;
}

const SOURCE_ROOMS = ['agent/', 'chain/', 'firmware-bridge/', 'market/', 'node/', 'process/'] as const;

/**
 * One row per room. Nobody's row names cli/: importing it is its own rule (`cli`), since only the
 * command itself may and tests spawn the built CLI instead.
 */
export const ROOM_RULES: readonly RoomRule[] = [
  { room: 'chain', mayImport: [], pure: true },
  { room: 'firmware-bridge', mayImport: [] },
  { room: 'process', mayImport: [] },
  { room: 'agent', mayImport: ['chain/index.ts', 'firmware-bridge/index.ts', 'process/index.ts'] },
  { room: 'node', mayImport: ['chain/index.ts', 'process/index.ts'] },
  { room: 'market', mayImport: ['chain/index.ts'] },
  { room: 'simulators', mayImport: [...SOURCE_ROOMS] },
  { room: 'cli', mayImport: [...SOURCE_ROOMS, 'simulators/'] },
  { room: 'test', mayImport: [...SOURCE_ROOMS, 'simulators/'], anyAdapters: true },
];

/** A test file allowed to import a cli/ module, and why. */
export interface CliImportException {
  readonly file: string;
  readonly target: string;
  readonly why: string;
}

/** The test files that import cli/ today; an entry the file no longer needs is reported as stale. */
export const CLI_IMPORT_EXCEPTIONS: readonly CliImportException[] = [];

/** Libraries that do I/O and so must sit behind one adapter file per room. */
export const IO_LIBRARIES = [
  'socketcan',
  'serialport',
  '@serialport/',
  'mqtt',
  'better-sqlite3',
  'unix-dgram',
  'aedes',
] as const;

/**
 * What a pure room never imports: the I/O libraries, the loaders of native addons, and Node's I/O
 * modules (with or without `node:`, sub-paths such as fs/promises included). A `.node` file is
 * refused as well. node:crypto and node:zlib are pure computation and allowed.
 */
export const PURE_FORBIDDEN = [
  ...IO_LIBRARIES,
  'bindings',
  'node-gyp-build',
  'node:fs',
  'node:net',
  'node:dgram',
  'node:dns',
  'node:child_process',
  'node:worker_threads',
  'node:http',
  'node:https',
  'node:http2',
  'node:tls',
] as const;

/** The rule an import breaks. */
export type BoundaryRule = 'room' | 'index-only' | 'cli' | 'pure' | 'one-adapter' | 'cycle' | 'unplaced';

/** One import that breaks a rule. */
export interface BoundaryViolation {
  /** File relative to the root, with `/` separators. */
  readonly file: string;
  readonly line: number;
  /** The import as written; empty for a file that breaks a rule by where it sits (`unplaced`). */
  readonly specifier: string;
  readonly rule: BoundaryRule;
  readonly message: string;
}

/** One import read from a source file. */
export interface ImportRef {
  readonly specifier: string;
  readonly line: number;
  readonly typeOnly: boolean;
}

/** Every import, export-from, import-equals, dynamic import(), require() and import type in a TypeScript source. */
export function readImports(fileName: string, text: string): ImportRef[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: ImportRef[] = [];
  const lineOf = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const allNamedTypeOnly =
        named !== undefined &&
        ts.isNamedImports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly) &&
        clause?.name === undefined;
      out.push({
        specifier: node.moduleSpecifier.text,
        line: lineOf(node),
        typeOnly: (clause?.isTypeOnly ?? false) || allNamedTypeOnly,
      });
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const named = node.exportClause;
      const allNamedTypeOnly =
        named !== undefined &&
        ts.isNamedExports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly);
      out.push({
        specifier: node.moduleSpecifier.text,
        line: lineOf(node),
        typeOnly: node.isTypeOnly || allNamedTypeOnly,
      });
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      out.push({
        specifier: node.moduleReference.expression.text,
        line: lineOf(node),
        typeOnly: node.isTypeOnly,
      });
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1) {
      const arg = node.arguments[0]!;
      const isDynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if ((isDynamicImport || isRequire) && ts.isStringLiteralLike(arg))
        out.push({ specifier: arg.text, line: lineOf(node), typeOnly: false });
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      // `import('x').T` in a type position loads nothing, but it still depends on x.
      out.push({ specifier: node.argument.literal.text, line: lineOf(node), typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Checks the tree under `root` and returns every violation (empty when the boundaries hold). */
export function checkBoundaries(
  root: string,
  rules: readonly RoomRule[] = ROOM_RULES,
  cliExceptions: readonly CliImportException[] = CLI_IMPORT_EXCEPTIONS,
): BoundaryViolation[] {
  const violations: BoundaryViolation[] = [];
  const rel = (p: string) => relative(root, p).split(sep).join('/');
  const roomOf = new Map(rules.map((r) => [r.room, r]));
  violations.push(...unplacedFolders(root, roomOf));

  const files = rules.flatMap((r) => listSources(join(root, r.room))).map(rel);
  const known = new Set(files);
  const graph = new Map<string, Edge[]>();
  const usedExceptions = new Set<CliImportException>();
  // Per room, per file: the value imports of I/O libraries.
  const adapters = new Map<string, Map<string, AdapterUse[]>>();
  for (const file of files) {
    const rule = roomOf.get(file.split('/')[0]!)!;
    const edges: Edge[] = [];
    const adapterUses: AdapterUse[] = [];
    for (const imp of readImports(file, readFileSync(join(root, file), 'utf8'))) {
      const local = imp.specifier.startsWith('.') || isAbsolute(imp.specifier);
      const impure = imp.specifier.endsWith('.node') || (!local && matchesAny(imp.specifier, PURE_FORBIDDEN));
      if (rule.pure && impure) violations.push(at(file, imp, 'pure', pureMessage(rule.room, imp.specifier)));
      if (!local) {
        const lib = matchesAny(imp.specifier, IO_LIBRARIES);
        if (lib !== undefined && !imp.typeOnly && !rule.anyAdapters) adapterUses.push({ lib, imp });
        continue;
      }
      const target = resolveLocal(rel(resolve(root, dirname(file), imp.specifier)), known);
      if (known.has(target)) edges.push({ target, imp });
      const top = target.split('/')[0]!;
      if (top === rule.room) continue;
      if (top === 'cli') {
        const exception = cliExceptions.find((e) => e.file === file && e.target === target);
        if (exception !== undefined) usedExceptions.add(exception);
        else violations.push(at(file, imp, 'cli', cliMessage(rule.room, target)));
        continue;
      }
      if (rule.mayImport.includes(target) || rule.mayImport.includes(`${top}/`)) continue;
      if (rule.mayImport.includes(`${top}/index.ts`))
        violations.push(at(file, imp, 'index-only', indexOnlyMessage(rule.room, top, target)));
      else violations.push(at(file, imp, 'room', roomMessage(rule, target)));
    }
    graph.set(file, edges);
    const roomAdapters = adapters.get(rule.room) ?? new Map<string, AdapterUse[]>();
    adapters.set(rule.room, roomAdapters.set(file, adapterUses));
  }
  violations.push(...adapterViolations(adapters), ...cycleViolations(graph));

  for (const e of cliExceptions) {
    if (!known.has(e.file) || usedExceptions.has(e)) continue;
    violations.push({
      file: e.file,
      line: 1,
      specifier: '',
      rule: 'cli',
      message: `is listed in CLI_IMPORT_EXCEPTIONS for ${e.target} but no longer imports it; drop the entry`,
    });
  }
  return violations;
}

/** One line per violation: `file:line: message (import '...')`. */
export function formatViolations(vs: readonly BoundaryViolation[]): string {
  return vs
    .map((v) => `${v.file}:${v.line}: ${v.message}${v.specifier === '' ? '' : ` (import '${v.specifier}')`}`)
    .join('\n');
}

interface Edge {
  readonly target: string;
  readonly imp: ImportRef;
}

interface AdapterUse {
  readonly lib: string;
  readonly imp: ImportRef;
}

function at(file: string, imp: ImportRef, rule: BoundaryRule, message: string): BoundaryViolation {
  return { file, line: imp.line, specifier: imp.specifier, rule, message };
}

function roomMessage(rule: RoomRule, target: string): string {
  const allowed = [`${rule.room}/`, ...rule.mayImport];
  const list = allowed.length === 1 ? allowed[0] : `${allowed.slice(0, -1).join(', ')} and ${allowed.at(-1)}`;
  return `${rule.room}/ may import only ${list}; this reaches ${target}`;
}

function indexOnlyMessage(room: string, top: string, target: string): string {
  return `${room}/ reaches ${top}/ only through ${top}/index.ts, not ${target}`;
}

function cliMessage(room: string, target: string): string {
  const how =
    room === 'test'
      ? 'spawn the built CLI, or list the file in CLI_IMPORT_EXCEPTIONS with its reason'
      : 'move what it needs into the room that owns it';
  return `${room}/ must not import cli/ (only the qood command lives there; ${how}); this reaches ${target}`;
}

function pureMessage(room: string, specifier: string): string {
  return `${room}/ is pure: it loads no I/O library or native module, and ${specifier} is one`;
}

/** The entry of `list` that `specifier` names (`node:` optional for Node's modules), if any. */
function matchesAny(specifier: string, list: readonly string[]): string | undefined {
  const bare = specifier.startsWith('node:') ? specifier.slice(5) : specifier;
  for (const entry of list) {
    const name = entry.startsWith('node:') ? entry.slice(5) : entry;
    if (name.endsWith('/') ? bare.startsWith(name) : bare === name || bare.startsWith(`${name}/`))
      return name.endsWith('/') ? name.slice(0, -1) : entry;
  }
  return undefined;
}

/** The source file an import names: `x.js` is `x.ts` in the tree; a folder is its index.ts. */
function resolveLocal(target: string, known: ReadonlySet<string>): string {
  const swapped = target.replace(/\.(m|c)?js$/, (_m, k: string | undefined) => `.${k ?? ''}ts`);
  const candidates = [swapped, target, `${target}.ts`, `${target}/index.ts`];
  return candidates.find((c) => known.has(c)) ?? swapped;
}

function listSources(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries.sort()) {
    if (e === 'node_modules' || e === 'dist' || e.startsWith('.')) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...listSources(p));
    else if (/\.(ts|mts|cts)$/.test(e) && !e.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** A top-level folder with sources but no row in the table (root files such as vitest.config.ts are tooling). */
function unplacedFolders(root: string, roomOf: ReadonlyMap<string, RoomRule>): BoundaryViolation[] {
  const out: BoundaryViolation[] = [];
  for (const e of readdirSync(root).sort()) {
    if (roomOf.has(e) || e === 'node_modules' || e === 'dist' || e.startsWith('.')) continue;
    if (!statSync(join(root, e)).isDirectory()) continue;
    const first = listSources(join(root, e))[0];
    if (first === undefined) continue;
    out.push({
      file: relative(root, first).split(sep).join('/'),
      line: 1,
      specifier: '',
      rule: 'unplaced',
      message: `${e}/ holds sources but is no room of the boundary table; add its row to ROOM_RULES`,
    });
  }
  return out;
}

function adapterViolations(
  byRoom: ReadonlyMap<string, ReadonlyMap<string, readonly AdapterUse[]>>,
): BoundaryViolation[] {
  const out: BoundaryViolation[] = [];
  for (const [room, byFile] of byRoom) {
    const libs = new Map<string, string[]>();
    for (const [file, uses] of byFile)
      for (const u of uses) {
        const files = libs.get(u.lib) ?? [];
        if (!files.includes(file)) files.push(file);
        libs.set(u.lib, files);
      }
    for (const [lib, files] of libs) {
      if (files.length <= 1) continue;
      for (const file of files)
        for (const u of byFile.get(file)!.filter((x) => x.lib === lib))
          out.push(
            at(
              file,
              u.imp,
              'one-adapter',
              `${lib} is imported by ${files.length} files in ${room}/ (${files.join(', ')}); keep it in one adapter file behind an interface`,
            ),
          );
    }
  }
  return out;
}

/**
 * One violation per strongly connected set of files (Tarjan): the shortest cycle through its first
 * file, reported on that file's import that starts it, with the rest of the set named when larger.
 */
function cycleViolations(graph: ReadonlyMap<string, readonly Edge[]>): BoundaryViolation[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const sets: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const { target: w } of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const set: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      set.push(w);
    } while (w !== v);
    const selfLoop = (graph.get(v) ?? []).some((e) => e.target === v);
    if (set.length > 1 || selfLoop) sets.push(set.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);

  const out: BoundaryViolation[] = [];
  for (const set of sets.sort((a, b) => (a[0]! < b[0]! ? -1 : 1))) {
    const start = set[0]!;
    const members = new Set(set);
    // Breadth-first from start back to start, inside the set: the shortest cycle through it.
    const via = new Map<string, Edge & { from: string }>();
    const queue = [start];
    let closing: (Edge & { from: string }) | undefined;
    for (let i = 0; i < queue.length && closing === undefined; i++) {
      const v = queue[i]!;
      for (const e of graph.get(v) ?? []) {
        if (!members.has(e.target)) continue;
        if (e.target === start) {
          closing = { ...e, from: v };
          break;
        }
        if (via.has(e.target)) continue;
        via.set(e.target, { ...e, from: v });
        queue.push(e.target);
      }
    }
    const path = [start];
    let first: Edge & { from: string } = closing!;
    for (let v = closing!.from; v !== start; v = first.from) {
      path.unshift(v);
      first = via.get(v)!;
    }
    path.unshift(start);
    const rest = set.filter((f) => !path.includes(f));
    out.push(
      at(
        start,
        first.imp,
        'cycle',
        `import cycle ${path.join(' -> ')}${rest.length > 0 ? ` (in one strongly connected set with ${rest.join(', ')})` : ''}`,
      ),
    );
  }
  return out;
}
