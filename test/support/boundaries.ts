/**
 * The folder boundaries of ARCHITECTURE.md as a checker: firmware-bridge/ and chain/ import nothing
 * of ours outside themselves; agent/ reaches them only through their index.ts; none of the three
 * imports simulators/, cli/ or test/; and each third-party I/O library is value-imported by at most
 * one adapter file per top-level folder (`import type` is free). Imports are read with the
 * TypeScript parser, so comments and strings that look like imports do not count.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** Libraries that do I/O and so must sit behind one adapter file per folder. */
export const IO_LIBRARIES = [
  'socketcan',
  'serialport',
  '@serialport/',
  'mqtt',
  'better-sqlite3',
  'unix-dgram',
  'aedes',
] as const;

/** Folders whose imports are checked. */
export const CHECKED_FOLDERS = ['firmware-bridge', 'chain', 'agent'] as const;

/** One import that breaks a rule. */
export interface BoundaryViolation {
  /** File relative to the root, with `/` separators. */
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  readonly rule: 'folder' | 'index-only' | 'one-adapter';
  readonly message: string;
}

interface ImportRef {
  readonly specifier: string;
  readonly line: number;
  readonly typeOnly: boolean;
}

/** Every import, export-from, dynamic import() and require() in a TypeScript source. */
export function readImports(fileName: string, text: string): ImportRef[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
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
      out.push({ specifier: node.moduleSpecifier.text, line: lineOf(node), typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1) {
      const arg = node.arguments[0]!;
      const isDynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if ((isDynamicImport || isRequire) && ts.isStringLiteralLike(arg))
        out.push({ specifier: arg.text, line: lineOf(node), typeOnly: false });
    } else if (ts.isImportTypeNode(node)) {
      return; // `import('x').T` in a type position is type-only
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function listSources(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    if (e === 'node_modules' || e === 'dist') continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...listSources(p));
    else if (/\.(ts|mts|cts)$/.test(e) && !e.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function ioLibraryOf(specifier: string): string | undefined {
  for (const lib of IO_LIBRARIES) {
    if (lib.endsWith('/') ? specifier.startsWith(lib) : specifier === lib || specifier.startsWith(`${lib}/`))
      return lib.endsWith('/') ? lib.slice(0, -1) : lib;
  }
  return undefined;
}

/** Checks the tree under `root` and returns every violation (empty when the boundaries hold). */
export function checkBoundaries(root: string): BoundaryViolation[] {
  const violations: BoundaryViolation[] = [];
  const rel = (p: string) => relative(root, p).split(sep).join('/');
  for (const folder of CHECKED_FOLDERS) {
    const adapters = new Map<string, { file: string; line: number; specifier: string }[]>();
    for (const file of listSources(join(root, folder))) {
      const fileRel = rel(file);
      for (const imp of readImports(file, readFileSync(file, 'utf8'))) {
        if (imp.specifier.startsWith('.')) {
          const target = rel(resolve(dirname(file), imp.specifier)).replace(/\.js$/, '.ts');
          const top = target.split('/')[0];
          if (top === folder) continue;
          if (
            folder === 'agent' &&
            (target === 'firmware-bridge/index.ts' ||
              target === 'chain/index.ts' ||
              target === 'process/index.ts')
          )
            continue;
          if (folder === 'agent' && (top === 'firmware-bridge' || top === 'chain')) {
            violations.push({
              file: fileRel,
              line: imp.line,
              specifier: imp.specifier,
              rule: 'index-only',
              message: `agent/ reaches ${top}/ only through ${top}/index.ts, not ${target}`,
            });
            continue;
          }
          const allowed =
            folder === 'agent' ? 'agent/, firmware-bridge/index.ts and chain/index.ts' : `${folder}/`;
          violations.push({
            file: fileRel,
            line: imp.line,
            specifier: imp.specifier,
            rule: 'folder',
            message: `${folder}/ may import only ${allowed}; this reaches ${target}`,
          });
          continue;
        }
        const lib = ioLibraryOf(imp.specifier);
        if (lib === undefined || imp.typeOnly) continue;
        const list = adapters.get(lib) ?? [];
        list.push({ file: fileRel, line: imp.line, specifier: imp.specifier });
        adapters.set(lib, list);
      }
    }
    for (const [lib, uses] of adapters) {
      const files = [...new Set(uses.map((u) => u.file))];
      if (files.length <= 1) continue;
      for (const u of uses)
        violations.push({
          file: u.file,
          line: u.line,
          specifier: u.specifier,
          rule: 'one-adapter',
          message: `${lib} is imported by ${files.length} files in ${folder}/ (${files.join(', ')}); keep it in one adapter file behind an interface`,
        });
    }
  }
  return violations;
}

/** One line per violation: `file:line: message`. */
export function formatViolations(vs: readonly BoundaryViolation[]): string {
  return vs.map((v) => `${v.file}:${v.line}: ${v.message} (import '${v.specifier}')`).join('\n');
}
