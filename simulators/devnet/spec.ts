/**
 * The devnet's command-line options as text (`--latency-ms 100-300`, `--partition 11:10@60-180`,
 * `--crash 6@120-300`, `--byzantine 1`) turned into DevnetOptions, with errors that say which option,
 * what it got and what it expects. Times in the text are seconds of simulated time.
 */
import type { DevnetOptions } from './devnet.js';

export type DevnetSpecErrorCode = 'BAD_NUMBER' | 'BAD_RANGE' | 'BAD_PARTITION' | 'BAD_CRASH' | 'TOO_MANY';

/** A devnet option that does not parse. */
export class DevnetSpecError extends Error {
  constructor(
    readonly code: DevnetSpecErrorCode,
    /** The option, e.g. `--partition`. */
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
    this.name = 'DevnetSpecError';
  }
}

/** The text form of a run, as `qood devnet simulate` takes it. */
export interface DevnetSpecText {
  readonly producers: string;
  readonly minutes: string;
  readonly latencyMs: string;
  readonly seed: string;
  readonly loss?: string;
  readonly partition?: readonly string[];
  readonly crash?: readonly string[];
  readonly byzantine?: string;
}

function number(option: string, text: string, min: number, max: number, integer: boolean): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max)
    throw new DevnetSpecError(
      'BAD_NUMBER',
      option,
      `got '${text}', expected ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`,
    );
  return v;
}

/** `a-b` as [a, b] with a <= b. */
function range(option: string, text: string, max: number): [number, number] {
  const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(text.trim());
  if (m === null)
    throw new DevnetSpecError('BAD_RANGE', option, `got '${text}', expected FROM-TO such as 100-300`);
  const a = Number(m[1]);
  const b = Number(m[2]);
  if (a > b || b > max)
    throw new DevnetSpecError('BAD_RANGE', option, `got '${text}', expected FROM <= TO <= ${max}`);
  return [a, b];
}

/** DevnetOptions from the command line's text. */
export function parseDevnetSpec(t: DevnetSpecText): DevnetOptions {
  const producers = number('--producers', t.producers, 1, 101, true);
  const minutes = number('--minutes', t.minutes, 0.01, 1440, false);
  const durationMs = Math.round(minutes * 60_000);
  const durationS = durationMs / 1000;
  const [min, max] = range('--latency-ms', t.latencyMs, 60_000);
  if (t.seed.length === 0) throw new DevnetSpecError('BAD_NUMBER', '--seed', 'expected a non-empty text');
  const partitions = (t.partition ?? []).map((p) => {
    const m = /^([\d:]+)@(.+)$/.exec(p.trim());
    if (m === null)
      throw new DevnetSpecError(
        'BAD_PARTITION',
        '--partition',
        `got '${p}', expected SIZES@FROM-TO such as 11:10@60-180`,
      );
    const sizes = m[1]!.split(':').map((s) => number('--partition', s, 1, producers, true));
    const total = sizes.reduce((a, b) => a + b, 0);
    if (sizes.length < 2 || total > producers)
      throw new DevnetSpecError(
        'BAD_PARTITION',
        '--partition',
        `got '${p}', expected two or more group sizes adding up to at most ${producers} (the rest form one more group)`,
      );
    const [from, to] = range('--partition', m[2]!, durationS);
    let next = 0;
    const groups = sizes.map((n) => Array.from({ length: n }, () => next++));
    if (next < producers) groups.push(Array.from({ length: producers - next }, () => next++));
    return { groups, fromMs: from * 1000, toMs: to * 1000 };
  });
  const crashes = (t.crash ?? []).map((c) => {
    const m = /^(\d+)@(.+)$/.exec(c.trim());
    if (m === null)
      throw new DevnetSpecError(
        'BAD_CRASH',
        '--crash',
        `got '${c}', expected COUNT@FROM-TO such as 6@120-300`,
      );
    const n = number('--crash', m[1]!, 1, producers, true);
    const [from, to] = range('--crash', m[2]!, durationS);
    return { nodes: Array.from({ length: n }, (_, i) => i), fromMs: from * 1000, toMs: to * 1000 };
  });
  const byz = t.byzantine === undefined ? 0 : number('--byzantine', t.byzantine, 0, producers, true);
  if (byz > 0 && byz >= producers)
    throw new DevnetSpecError(
      'TOO_MANY',
      '--byzantine',
      `${byz} of ${producers} producers; leave at least one honest`,
    );
  return {
    producers,
    durationMs,
    latencyMs: { min, max },
    seed: t.seed,
    ...(t.loss === undefined ? {} : { loss: number('--loss', t.loss, 0, 1, false) }),
    ...(partitions.length > 0 ? { partitions } : {}),
    ...(crashes.length > 0 ? { crashes } : {}),
    ...(byz > 0
      ? {
          byzantine: Array.from({ length: byz }, (_, i) => ({
            node: producers - 1 - i,
            doubleSign: true,
            withholdVotes: true,
          })),
        }
      : {}),
  };
}
