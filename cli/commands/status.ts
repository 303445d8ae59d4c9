/** `qood status`: asks a running agent or node for its counters over the local socket. */
import type { Command } from 'commander';
import { callLocalApi } from '../../process/local-api/client.js';
import type { MetricsSnapshot } from '../../process/metrics.js';
import { CliExit, EXIT } from '../exit-codes.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('print the counters of a running agent (or node) from its local socket')
    .option('--socket <path>', 'local API socket', '/run/qood/agent.sock')
    .option('--json', 'print one JSON object')
    .action(async (opts: { socket: string; json?: boolean }) => {
      let status: MetricsSnapshot & {
        role?: string;
        vehicleId?: string;
        clock?: { sound: boolean; reasons: string[] };
      };
      try {
        status = (await callLocalApi(opts.socket, 'status')) as typeof status;
      } catch (err) {
        throw new CliExit(EXIT.failure, `qood status: ${(err as Error).message}`);
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(status)}\n`);
        return;
      }
      const lines = [
        `${status.role ?? 'process'}${status.vehicleId ? ` ${status.vehicleId}` : ''}, up ${formatUptime(status.uptimeMs)}`,
      ];
      const rows = [...Object.entries(status.counters), ...Object.entries(status.gauges)];
      const width = Math.max(0, ...rows.map(([k]) => k.length));
      for (const [k, v] of rows) lines.push(`  ${k.padEnd(width)}  ${v}`);
      // The agent's device clock: control is refused while it is unsound (issue 14, attack 6).
      if (status.clock !== undefined)
        lines.push(
          status.clock.sound
            ? '  clock: sound'
            : `  clock: UNSOUND, control refused: ${status.clock.reasons.join('; ')}`,
        );
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
