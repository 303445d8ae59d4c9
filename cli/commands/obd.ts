/**
 * `qood obd ...`: OBD-II through an ELM327 adapter. `scan` reports the adapter, protocol, supported
 * PIDs, VIN and trouble codes; `poll` prints decoded values as they arrive; `clear-dtcs` clears the
 * trouble codes, only with `--yes`; `emulate` runs the ELM327 emulator on a pseudo-terminal so the
 * others can be tried without a car. The work is in ../obd-actions.ts, loaded when a command runs.
 */
import type { Command } from 'commander';
import { CliExit, EXIT } from '../exit-codes.js';

/** Options every adapter command takes. */
export interface PortOpts {
  port: string;
  baud: string;
  json?: boolean;
}

/** Parses `--baud`; throws a usage error naming the value. */
export function parseBaud(text: string): number {
  const baud = Number(text);
  if (![9600, 19200, 38400, 57600, 115200, 230400, 500000].includes(baud))
    throw new CliExit(
      EXIT.usage,
      `--baud: expected 9600, 38400, 57600, 115200, 230400 or 500000, got '${text}'`,
    );
  return baud;
}

/** Parses `--pids 010C,010D` into PID numbers; throws a usage error naming the bad entry. */
export function parsePids(text: string): number[] {
  return text.split(',').map((p) => {
    const t = p.trim();
    if (!/^01[0-9A-Fa-f]{2}$/.test(t))
      throw new CliExit(
        EXIT.usage,
        `--pids: '${t}' is not a service 01 PID; expected 01 and two hex digits, e.g. 010C`,
      );
    return Number.parseInt(t.slice(2), 16);
  });
}

/** Creates the `obd` command group. */
export function registerObd(program: Command): Command {
  const obd = program
    .command('obd')
    .description('OBD-II through an ELM327 adapter: scan, poll, clear codes, emulate');
  obd
    .command('scan')
    .description('adapter version, protocol, supported PIDs, VIN and trouble codes')
    .requiredOption('--port <path>', 'serial device of the adapter (/dev/ttyUSB0, /dev/rfcomm0)')
    .option('--baud <n>', 'line speed', '38400')
    .option('--json', 'print one JSON object')
    .action(async (opts: PortOpts) => {
      const baud = parseBaud(opts.baud);
      const { scanCommand } = await import('../obd-actions.js');
      await scanCommand(opts.port, baud, opts.json === true);
    });
  obd
    .command('poll')
    .description('poll PIDs and print decoded values as they arrive')
    .requiredOption('--port <path>', 'serial device of the adapter')
    .option('--baud <n>', 'line speed', '38400')
    .option('--pids <list>', 'PIDs to poll, e.g. 010C,010D (default: every supported PID this decoder knows)')
    .option('--rate <hz>', 'requested rate per PID, scaled down to what the adapter can do', '10')
    .option('--count <n>', 'stop after n values')
    .option('--json', 'JSON lines {"t","pid","path","value","unit"}')
    .action(async (opts: PortOpts & { pids?: string; rate: string; count?: string }) => {
      const baud = parseBaud(opts.baud);
      const pids = opts.pids === undefined ? undefined : parsePids(opts.pids);
      const rateHz = Number(opts.rate);
      if (!(rateHz > 0 && rateHz <= 100))
        throw new CliExit(EXIT.usage, `--rate: expected 0 < hz <= 100, got '${opts.rate}'`);
      const count = opts.count === undefined ? undefined : Number(opts.count);
      if (count !== undefined && !(Number.isInteger(count) && count > 0))
        throw new CliExit(EXIT.usage, `--count: expected a whole number > 0, got '${opts.count}'`);
      const { pollCommand } = await import('../obd-actions.js');
      await pollCommand({ port: opts.port, baud, pids, rateHz, count, json: opts.json === true });
    });
  obd
    .command('clear-dtcs')
    .description("clear stored and pending trouble codes and turn the MIL off (the owner's explicit action)")
    .requiredOption('--port <path>', 'serial device of the adapter')
    .option('--baud <n>', 'line speed', '38400')
    .option('--yes', 'confirm: clearing also erases freeze frames and readiness monitors')
    .action(async (opts: PortOpts & { yes?: boolean }) => {
      const baud = parseBaud(opts.baud);
      if (opts.yes !== true)
        throw new CliExit(
          EXIT.usage,
          'qood obd clear-dtcs: not cleared. Clearing erases trouble codes, freeze frames and readiness monitors; run again with --yes to confirm',
        );
      const { clearCommand } = await import('../obd-actions.js');
      await clearCommand(opts.port, baud);
    });
  obd
    .command('emulate')
    .description('run an ELM327 emulator on a pseudo-terminal, fed by the vehicle model')
    .requiredOption('--link <path>', 'path of the pseudo-terminal to create; connect to it with --port')
    .option('--baud <n>', 'line speed to emulate (the pty does not enforce it; replies are paced)', '38400')
    .option('--bus <kind>', 'the car: can11, can29 or kwp', 'can11')
    .option('--vin <vin>', 'VIN the car reports', 'WQD0SIM1234567890')
    .option('--dtc <codes>', 'stored trouble codes, e.g. P0301,P0420')
    .action(async (opts: { link: string; baud: string; bus: string; vin: string; dtc?: string }) => {
      const baud = parseBaud(opts.baud);
      if (!['can11', 'can29', 'kwp'].includes(opts.bus))
        throw new CliExit(EXIT.usage, `--bus: expected can11, can29 or kwp, got '${opts.bus}'`);
      const dtcs = opts.dtc === undefined ? [] : opts.dtc.split(',').map((d) => d.trim());
      for (const d of dtcs)
        if (!/^[PCBU][0-3][0-9A-F]{3}$/.test(d))
          throw new CliExit(EXIT.usage, `--dtc: '${d}' is no trouble code; expected e.g. P0301`);
      const { emulateCommand } = await import('../obd-actions.js');
      await emulateCommand({ link: opts.link, baud, bus: opts.bus as 'can11', vin: opts.vin, dtcs });
    });
  return obd;
}
