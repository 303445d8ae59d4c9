/**
 * The package as a user gets it: `npm pack` of the built tree, the tarball's file list checked
 * (what runs and nothing else), an `npm install` of the tarball into a throw-away prefix with the
 * native addons built from source (nothing downloaded but what the npm registry serves), then the
 * installed `qood` run from outside the repository (`--version`, `--help`, a ten-second demo) and a
 * consumer that imports the documented library API by the package's name, in JavaScript and through
 * tsc against the emitted declarations.
 *
 * A system test because it compiles three addons (better-sqlite3, socketcan, unix-dgram and
 * cbor-extract: several minutes on two cores) and needs a C++ toolchain; it never runs in the unit
 * phase of a bare clone.
 */
import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeSystem, projectRoot } from '../../support/system.js';

const root = projectRoot();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  allowScripts: Record<string, boolean>;
};

/** The rooms whose compiled code is the product (test/ is not). */
const ROOMS = ['agent', 'chain', 'cli', 'firmware-bridge', 'market', 'node', 'process', 'simulators'];

/** The environment for a child npm: without the npm_* variables of an enclosing `npm test`. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/** Runs a program to its end and returns its output; a non-zero exit fails with what it printed. */
function run(cmd: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = childEnv()): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`,
    );
  }
  return r.stdout;
}

/** Every file beside the sources that is not TypeScript (data the product reads at run time). */
function dataFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.endsWith('.ts')) out.push(relative(root, p));
    }
  };
  for (const room of ROOMS) walk(join(root, room));
  return out.sort();
}

describeSystem(
  'the npm package',
  [
    { bin: 'g++', pkg: 'g++' },
    { bin: 'make', pkg: 'make' },
    { bin: 'python3', pkg: 'python3' },
  ],
  () => {
    let dir: string;
    let prefix: string;
    let tarball: string;
    let files: string[];
    let qood: string;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'qood-package-'));
      prefix = join(dir, 'prefix');
      mkdirSync(prefix);
      run('npm', ['run', '--silent', 'build'], root);
      const packed = JSON.parse(
        run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], root),
      ) as { filename: string; files: { path: string }[] }[];
      const first = packed[0];
      if (first === undefined) throw new Error('npm pack printed no package');
      tarball = join(dir, first.filename);
      files = first.files.map((f) => f.path);
      // npm 11 runs a dependency's install script only when the installing project allows it: the
      // addons the package needs, as the repository's own package.json lists them.
      writeFileSync(
        join(prefix, 'package.json'),
        JSON.stringify({
          name: 'qood-package-test',
          private: true,
          allowScripts: { ...pkg.allowScripts, [pkg.name]: false },
        }),
      );
      // Build the addons from source: prebuild-install would otherwise try a download first.
      run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], prefix, {
        ...childEnv(),
        npm_config_build_from_source: 'true',
      });
      qood = join(prefix, 'node_modules', '.bin', 'qood');
    }, 20 * 60_000);

    afterAll(() => {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it('ships the compiled product and its data, and no tests, maps or sources', () => {
      expect(files.filter((f) => f.startsWith('dist/test/'))).toEqual([]);
      expect(files.filter((f) => f.startsWith('test/'))).toEqual([]);
      expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
      expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
      expect(files.filter((f) => f.endsWith('.tsbuildinfo'))).toEqual([]);
      for (const f of [
        'package.json',
        'LICENSE',
        'README.md',
        'dist/cli/main.js',
        'dist/market/index.js',
        'dist/market/index.d.ts',
        'dist/chain/index.js',
        'dist/chain/index.d.ts',
        'systemd/qood-agent.service',
        'systemd/qood-node.service',
        'config/tbox.yaml',
        'config/pi-obd-dongle.yaml',
        'config/node.yaml',
      ]) {
        expect(files, f).toContain(f);
      }
      // Each data file of the sources ships where the compiled code looks for it: beside the source
      // (simulators/vehicle/, read through simFile) or copied by tsc into dist/ (imported JSON).
      const data = dataFiles();
      expect(data).toContain('simulators/vehicle/qood-sim.profile.yaml');
      for (const f of data) {
        expect(files.includes(f) || files.includes(`dist/${f}`), `${f} in the tarball`).toBe(true);
      }
    });

    it('runs qood --version and --help from the installed package', () => {
      expect(run(qood, ['--version'], dir).trim()).toBe(pkg.version);
      const help = run(qood, ['--help'], dir);
      for (const cmd of ['demo', 'agent', 'node', 'market']) expect(help).toContain(cmd);
    });

    it('runs the demo from the installed package, outside the repository', () => {
      const out = run(qood, ['demo', '--seconds', '10', '--json'], dir);
      const summary = JSON.parse(out) as {
        counters: Record<string, number>;
        verified: { chunks: number; failed: number };
        market: { filled: boolean; chunks: number };
      };
      expect(summary.counters['chunks.sealed']).toBeGreaterThan(0);
      expect(summary.counters['chunks.synced']).toBeGreaterThan(0);
      expect(summary.counters['frames.in']).toBeGreaterThan(0);
      expect(summary.verified.chunks).toBeGreaterThan(0);
      expect(summary.verified.failed).toBe(0);
      expect(summary.market.filled).toBe(true);
    }, 180_000);

    it('serves the documented API by the package name, in JavaScript and in TypeScript', () => {
      const consumer = `
import { MarketClient, MarketError } from '${pkg.name}';
import { MarketClient as FromMarket } from '${pkg.name}/market';
import { LightClient, LightError, decodeCheckpoint, verifyBatch, getPublicKey, toHex } from '${pkg.name}/chain';

const secretKey = new Uint8Array(32).fill(7);
const client = new MarketClient({ nodeUrl: 'http://127.0.0.1:9', secretKey });
let code = 'none';
try {
  decodeCheckpoint(new Uint8Array([1, 2, 3]));
} catch (err) {
  if (err instanceof LightError) code = err.code;
}
console.log(JSON.stringify({
  same: FromMarket === MarketClient,
  client: typeof client.listDescriptors,
  marketError: typeof MarketError,
  light: typeof LightClient,
  verifyBatch: typeof verifyBatch,
  key: toHex(getPublicKey(secretKey)).length,
  code,
}));
`;
      writeFileSync(join(prefix, 'consumer.ts'), consumer);
      writeFileSync(join(prefix, 'consumer.mjs'), consumer);
      const result = JSON.parse(run(process.execPath, ['consumer.mjs'], prefix)) as Record<string, unknown>;
      expect(result).toEqual({
        same: true,
        client: 'function',
        marketError: 'function',
        light: 'function',
        verifyBatch: 'function',
        key: 64,
        code: 'MALFORMED',
      });
      // Only what `exports` names is reachable: the rooms' internals stay private.
      writeFileSync(
        join(prefix, 'internal.mjs'),
        `import('${pkg.name}/dist/agent/index.js').then(() => console.log('open'), (e) => console.log(e.code));`,
      );
      expect(run(process.execPath, ['internal.mjs'], prefix).trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
      writeFileSync(
        join(prefix, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            exactOptionalPropertyTypes: true,
            noEmit: true,
            skipLibCheck: false,
            typeRoots: [join(root, 'node_modules', '@types')],
            types: ['node'],
          },
          files: ['consumer.ts', 'misuse.ts'],
        }),
      );
      // The declarations are real types, not `any`: a wrong option is refused.
      writeFileSync(
        join(prefix, 'misuse.ts'),
        `import { MarketClient } from '${pkg.name}';\nexport const c = new MarketClient({ nodeUrl: 26700 });\n`,
      );
      // The emitted declarations compile for a strict consumer, library files checked too: the only
      // errors are the planted ones.
      const tsc = spawnSync(
        process.execPath,
        [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'],
        { cwd: prefix, env: childEnv(), encoding: 'utf8' },
      );
      const errors = tsc.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
      expect(errors.length, tsc.stdout).toBe(1);
      expect(errors[0], tsc.stdout).toMatch(/^misuse\.ts\(2,\d+\): error TS2322: .*number.*string/);
    }, 120_000);

    it('starts without the SocketCAN and serial addons where nothing needs them', () => {
      // A dongle or a laptop without CAN: the packages gone altogether, the strongest case.
      const modules = join(prefix, 'node_modules');
      const hidden = ['socketcan', 'serialport', '@serialport'];
      for (const m of hidden) renameSync(join(modules, m), join(dir, m.replace('/', '_')));
      try {
        run(qood, ['config', 'check', join(modules, pkg.name, 'config', 'tbox.yaml')], dir);
        const out = run(qood, ['demo', '--seconds', '5', '--json'], dir);
        const summary = JSON.parse(out) as { counters: Record<string, number> };
        expect(summary.counters['chunks.sealed']).toBeGreaterThan(0);
        const fb = join(modules, pkg.name, 'dist', 'firmware-bridge', 'index.js');
        const probe = `
const fb = await import(${JSON.stringify(fb)});
for (const open of [() => fb.openSocketCan({ interface: 'can0' }), () => fb.openSerialPort({ path: '/dev/null', baudRate: 38400 })]) {
  await open().then(() => console.log('opened'), (e) => console.log(e.name, e.code, e.message));
}`;
        writeFileSync(join(prefix, 'probe.mjs'), probe);
        const lines = run(process.execPath, ['probe.mjs'], prefix).trim().split('\n');
        expect(lines[0]).toMatch(/^CanBusError OPEN_FAILED can0: the socketcan addon did not load/);
        expect(lines[1]).toMatch(/^SerialError OPEN_FAILED \/dev\/null: the serialport package did not load/);
      } finally {
        for (const m of hidden) renameSync(join(dir, m.replace('/', '_')), join(modules, m));
      }
    }, 180_000);
  },
);
