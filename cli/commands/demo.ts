/** `qood demo [--seconds N] [--json]`: the whole story on embedded defaults (what `npm start` runs). */
import type { Command } from 'commander';
import { CliExit, EXIT } from '../exit-codes.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'run every stage that exists on embedded defaults and a simulated vehicle, printing what flows',
    )
    .option('--seconds <n>', 'stop after N seconds and print a summary')
    .option('--json', 'print only the summary, as one JSON object of counters')
    .action(async (opts: { seconds?: string; json?: boolean }) => {
      let seconds: number | undefined;
      if (opts.seconds !== undefined) {
        seconds = Number(opts.seconds);
        if (!Number.isFinite(seconds) || seconds <= 0)
          throw new CliExit(EXIT.usage, `--seconds: expected a positive number, got '${opts.seconds}'`);
      }
      const abort = new AbortController();
      const onSignal = (): void => abort.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const print = opts.json ? () => {} : (line: string) => process.stdout.write(`${line}\n`);
      const { runDemo } = await import('../../simulators/demo/demo.js');
      const summary = await runDemo({
        print,
        signal: abort.signal,
        ...(seconds === undefined ? {} : { seconds }),
      });
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      process.stdout.write(`\nsummary after ${summary.seconds} s (stages: ${summary.stages.join(' -> ')})\n`);
      for (const [k, v] of Object.entries(summary.counters)) process.stdout.write(`  ${k.padEnd(24)} ${v}\n`);
      for (const [k, v] of Object.entries(summary.node))
        process.stdout.write(`  node ${k.padEnd(19)} ${v}\n`);
      const m = summary.market;
      process.stdout.write(
        m.filled
          ? `  market: order ${m.orderId} filled; the buyer verified ${m.chunks} chunks and read ${m.samples} samples; paid ${Object.entries(
              m.split,
            )
              .map(([role, units]) => `${role} ${Number(units) / 1e6} QDD`)
              .join(', ')}\n`
          : `  market: no purchase (${m.error ?? 'not reached'})\n`,
      );
    });
}
