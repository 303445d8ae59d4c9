/**
 * The crash tests' harness: runs a compiled child script, waits until it prints its ready line,
 * lets it work a random while, SIGKILLs it, and returns the whole lines it printed (the last one
 * may be cut by the kill and is dropped). Also the tests' seeded random numbers (xorshift32).
 */
import { spawn } from 'node:child_process';
import { expect } from 'vitest';
import { waitExit } from './cli.js';

/** A deterministic generator of numbers in [0, 1). */
export function xorshiftRng(seed = 0x2545f491): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Runs `node script ...args`; after `ready` appears and `workMs`, kills it; returns its whole lines. */
export async function runThenKill(
  script: string,
  args: readonly string[],
  ready: string,
  workMs: number,
): Promise<string[]> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const deadline = Date.now() + 20_000;
  while (!out.includes(ready) && Date.now() < deadline && child.exitCode === null)
    await new Promise((r) => setTimeout(r, 5));
  if (!out.includes(ready)) throw new Error(`${script} did not start: ${out}${err}`);
  await new Promise((r) => setTimeout(r, workMs));
  child.kill('SIGKILL');
  const exit = await waitExit(child, 5000);
  expect(exit.signal).toBe('SIGKILL');
  return out.split('\n').slice(0, -1);
}
