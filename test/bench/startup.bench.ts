/**
 * Start-up cost of the `qood` executable (a Pi boots the agent often: after every ignition on a
 * dongle without permanent power), against a bare `node` start in the same run.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { BenchSuite } from './harness.js';

const cli = join(import.meta.dirname, '..', '..', 'cli', 'main.js');

function timeMs(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return performance.now() - t0;
}

export const suite: BenchSuite = {
  name: 'cli',
  figures: [
    {
      name: 'qood --version start-up',
      unit: 'ms',
      runs: 9,
      measure: () => timeMs([cli, '--version']),
      floor: { name: 'node -e 0', measure: () => timeMs(['-e', '0']) },
    },
    {
      name: 'qood config check (TBOX example)',
      unit: 'ms',
      runs: 9,
      measure: () =>
        timeMs([cli, 'config', 'check', join(import.meta.dirname, '..', '..', '..', 'config', 'tbox.yaml')]),
      floor: { name: 'node -e 0', measure: () => timeMs(['-e', '0']) },
    },
  ],
};
