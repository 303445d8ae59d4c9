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
      let status: StatusReply;
      try {
        status = (await callLocalApi(opts.socket, 'status')) as typeof status;
      } catch (err) {
        throw new CliExit(EXIT.failure, `qood status: ${(err as Error).message}`);
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(status)}\n`);
        return;
      }
      process.stdout.write(formatStatus(status));
    });
}

/** What `status` answers: the counters and, from an agent with a chain section, the chain view. */
export type StatusReply = MetricsSnapshot & {
  role?: string;
  vehicleId?: string;
  chain?: { state?: string; message?: string };
  clock?: { sound: boolean; reasons: string[] };
};

/** The text `qood status` prints for a status reply (one line per counter, after the summary). */
export function formatStatus(status: StatusReply): string {
  const lines = [
    `${status.role ?? 'process'}${status.vehicleId ? ` ${status.vehicleId}` : ''}, up ${formatUptime(status.uptimeMs)}`,
  ];
  // The agent's chain view: following, or stale with what it refuses and the way out (issue 14, attack 8).
  if (typeof status.chain?.message === 'string') lines.push(`chain: ${status.chain.message}`);
  // The agent's device clock: control is refused while it is unsound (issue 14, attack 6).
  if (status.clock !== undefined)
    lines.push(
      status.clock.sound
        ? 'clock: sound'
        : `clock: UNSOUND, control refused: ${status.clock.reasons.join('; ')}`,
    );
  const rows = [...Object.entries(status.counters), ...Object.entries(status.gauges)];
  const width = Math.max(0, ...rows.map(([k]) => k.length));
  for (const [k, v] of rows) lines.push(`  ${k.padEnd(width)}  ${v}`);
  return `${lines.join('\n')}\n`;
}

function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
