/**
 * `qood devnet simulate`: runs the deterministic in-process devnet (simulators/devnet) and prints
 * what happened: blocks, missed slots, finality lag, conflicting final blocks, evidence caught.
 */
import type { Command } from 'commander';
import { CliExit, EXIT } from '../exit-codes.js';
import { registerDevnetStart } from './devnet-start.js';

interface SimulateOpts {
  producers: string;
  minutes: string;
  latencyMs: string;
  seed: string;
  loss?: string;
  partition: string[];
  crash: string[];
  byzantine?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerDevnet(program: Command): void {
  const devnet = program
    .command('devnet')
    .description('a simulated multi-producer chain, for trying consensus');
  registerDevnetStart(devnet);
  devnet
    .command('simulate')
    .description(
      'run producers in virtual time with latency, loss, partitions, crashes and byzantine producers',
    )
    .option('--producers <n>', 'producers in the schedule (4 uses the minimal preset)', '21')
    .option('--minutes <m>', 'simulated minutes', '10')
    .option('--latency-ms <min-max>', 'one-way message latency, uniform', '100-300')
    .option('--seed <text>', 'the same seed replays the same run', 'qood')
    .option('--loss <p>', 'probability that a message to one peer is lost (0-1)')
    .option(
      '--partition <sizes@from-to>',
      'groups cut off from each other, in seconds, e.g. 11:10@60-180 (repeatable)',
      collect,
      [],
    )
    .option(
      '--crash <n@from-to>',
      'the first n producers down, in seconds, e.g. 6@120-300 (repeatable)',
      collect,
      [],
    )
    .option('--byzantine <n>', 'the last n producers double-sign and withhold their votes')
    .option('--json', 'print the report as one JSON object')
    .action(async (opts: SimulateOpts) => {
      const { parseDevnetSpec, DevnetSpecError, runDevnet } = await import(
        '../../simulators/devnet/index.js'
      );
      let options: ReturnType<typeof parseDevnetSpec>;
      try {
        options = parseDevnetSpec({
          producers: opts.producers,
          minutes: opts.minutes,
          latencyMs: opts.latencyMs,
          seed: opts.seed,
          partition: opts.partition,
          crash: opts.crash,
          ...(opts.loss === undefined ? {} : { loss: opts.loss }),
          ...(opts.byzantine === undefined ? {} : { byzantine: opts.byzantine }),
        });
      } catch (err) {
        if (err instanceof DevnetSpecError)
          throw new CliExit(EXIT.usage, `qood devnet simulate: ${err.message}`);
        throw err;
      }
      const r = runDevnet(options);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      } else {
        const lines = [
          `${r.producers} producers, ${r.simulatedSeconds} s simulated in ${(r.wall.ms / 1000).toFixed(1)} s (seed '${r.seed}')`,
          `blocks final: ${r.blocks} of ${r.slots} slots, missed slots: ${r.missedSlots}`,
          `finality lag: p50 ${r.finalityLagMs.p50} ms, p99 ${r.finalityLagMs.p99} ms, max ${r.finalityLagMs.max} ms`,
          `conflicting final blocks: ${r.conflictingFinalBlocks}`,
          `evidence: ${r.evidence.length === 0 ? 'none' : r.evidence.map((e) => `${e.kind} by ${e.producer}... at ${e.height}`).join(', ')}`,
          ...r.penalised.map(
            (p) =>
              `producer ${p.node} (${p.producer}...): staked ${p.stakedBefore} -> ${p.stakedAfter}, ${p.jailed ? 'jailed' : 'not jailed'}`,
          ),
          ...r.scheduleChanges.map(
            (c) =>
              `schedule change from slot ${c.fromSlot} (round ${c.fromRound}): +${c.added.length} -${c.removed.length}`,
          ),
          `final head: ${r.finalHeadHash}`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (r.conflictingFinalBlocks > 0) process.exitCode = EXIT.failure;
    });
}
