/**
 * Size of the npm package (`npm pack`): packed bytes, unpacked bytes and file count with the
 * `files` rules of package.json, against the rules the package had before it was made publishable
 * (all of dist/ with tests and source maps, systemd/, config/ and two simulator files), measured in
 * the same run on the same build. Sizes do not vary between runs, so each is measured once.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchSuite } from './harness.js';

const root = join(import.meta.dirname, '..', '..', '..');

/** The `files` of package.json before the package was made publishable. */
const OLD_FILES = [
  'dist',
  'systemd',
  'config',
  'simulators/vehicle/qood-sim.dbc',
  'simulators/vehicle/qood-sim.vss.yaml',
];

interface PackFigures {
  readonly packed: number;
  readonly unpacked: number;
  readonly files: number;
}

/** `npm pack --dry-run` of a folder: what the tarball would hold, without writing it. */
function packFigures(dir: string): PackFigures {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: dir,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`npm pack in ${dir} exited ${r.status}: ${r.stderr}`);
  const first = (JSON.parse(r.stdout) as { size: number; unpackedSize: number; entryCount: number }[])[0];
  if (first === undefined) throw new Error(`npm pack in ${dir} printed no package`);
  return { packed: first.size, unpacked: first.unpackedSize, files: first.entryCount };
}

/**
 * The old rules applied to today's build, in a copy of the tree. Declarations are left out of the
 * copy: the build emitted none then, and counting them would flatter the new rules.
 */
function oldFigures(): PackFigures {
  const dir = mkdtempSync(join(tmpdir(), 'qood-pack-old-'));
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    delete pkg.exports;
    delete pkg.types;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, private: true, files: OLD_FILES }));
    for (const f of ['README.md', 'LICENSE', 'systemd', 'config', 'simulators/vehicle']) {
      cpSync(join(root, f), join(dir, f), { recursive: true });
    }
    cpSync(join(root, 'dist'), join(dir, 'dist'), {
      recursive: true,
      filter: (src) => !src.endsWith('.d.ts'),
    });
    return packFigures(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const suite: BenchSuite = {
  name: 'npm package',
  figures: async () => {
    const now = packFigures(root);
    const before = oldFigures();
    const floor = (name: string, v: number) => ({ name: `before, ${name}`, measure: () => v });
    return [
      {
        name: 'tarball packed size',
        unit: 'bytes',
        runs: 1,
        measure: () => now.packed,
        floor: floor('all of dist/', before.packed),
      },
      {
        name: 'tarball unpacked size',
        unit: 'bytes',
        runs: 1,
        measure: () => now.unpacked,
        floor: floor('all of dist/', before.unpacked),
      },
      {
        name: 'tarball file count',
        unit: 'files',
        runs: 1,
        measure: () => now.files,
        floor: floor('all of dist/', before.files),
        note: 'before: the old files rules on the same build, declarations left out',
      },
    ];
  },
};
