/**
 * `npm run fuzz`: the fuzz suite (test/fuzz) with a longer budget. Runs every property
 * QOOD_FUZZ_SCALE times (default 50) its CI runs, with QOOD_FUZZ_SEED or a random seed, printed
 * first so a failure can be replayed: `QOOD_FUZZ_SEED=<seed> npm run fuzz`. Extra arguments go to
 * vitest (a file or a test name filter). Exits with vitest's status.
 */
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..', '..');
const seed = process.env.QOOD_FUZZ_SEED || String(randomInt(1, 2 ** 31 - 1));
const scale = process.env.QOOD_FUZZ_SCALE || '50';
process.stdout.write(
  `fuzz: seed ${seed}, ${scale}x the CI runs (replay: QOOD_FUZZ_SEED=${seed} QOOD_FUZZ_SCALE=${scale} npm run fuzz)\n`,
);
const args = process.argv.slice(2);
const r = spawnSync(
  process.execPath,
  [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...(args.length > 0 ? args : ['test/fuzz'])],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, QOOD_FUZZ_SEED: seed, QOOD_FUZZ_SCALE: scale },
  },
);
process.stdout.write(`fuzz: seed ${seed}\n`);
process.exit(r.status ?? 1);
