/**
 * `qood init`: sets this device (or a root folder being built into an image) up to run the agent.
 * Parses options and asks for the device kind on a terminal; the work is agent/install's plan.
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { CliExit, EXIT } from '../exit-codes.js';

type Install = typeof import('../../agent/install/index.js');

interface InitFlags {
  kind?: string;
  root: string;
  dryRun?: true;
  serial?: string;
  gnss?: string;
  can?: string;
  bitrate: string;
  dataBitrate: string;
  execStart?: string;
  yes?: true;
  force?: true;
}

function bitrate(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 10_000 || n > 8_000_000)
    throw new CliExit(EXIT.usage, `${what}: expected bit/s between 10000 and 8000000, got '${v}'`);
  return n;
}

/** The device kind from --kind, or asked on a terminal; without either it is a usage error. */
async function chooseKind(
  install: Install,
  given: string | undefined,
): Promise<Install['DEVICE_KINDS'][number]> {
  const kinds: readonly string[] = install.DEVICE_KINDS;
  const check = (k: string) => {
    if (!kinds.includes(k))
      throw new CliExit(EXIT.usage, `--kind: expected one of ${kinds.join(', ')}, got '${k}'`);
    return k as Install['DEVICE_KINDS'][number];
  };
  if (given !== undefined) return check(given);
  if (!process.stdin.isTTY)
    throw new CliExit(
      EXIT.usage,
      `qood init: --kind ${kinds.join('|')} is required when not run on a terminal`,
    );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(
      'Device kind? pi-obd (Pi + ELM327 OBD-II dongle), tbox (CAN buses), tracker (GNSS only): ',
    );
    return check(answer.trim());
  } finally {
    rl.close();
  }
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('set this device up to run the agent: user, config, udev rules, CAN, unit, device key')
    .option('--kind <kind>', 'pi-obd | tbox | tracker (asked on a terminal when missing)')
    .option('--root <dir>', 'install into this root folder instead of / (image builds, tests)', '/')
    .option('--dry-run', 'print every step it would take and change nothing')
    .option(
      '--serial <path>',
      'serial port of the ELM327 (pi-obd) or GNSS receiver (tracker), instead of the one found',
    )
    .option('--gnss <path>', "the GNSS receiver's serial port (pi-obd, tracker), instead of the one found")
    .option('--can <iface>', 'first CAN interface (tbox; default: as in config/tbox.yaml, can0)')
    .option('--bitrate <n>', 'CAN bitrate in bit/s (tbox)', '500000')
    .option('--data-bitrate <n>', 'CAN FD data-phase bitrate in bit/s (tbox, FD interfaces)', '2000000')
    .option('--exec-start <path>', 'what the unit runs as qood (default: this node and this qood)')
    .option('--yes', 'do not ask before changing anything')
    .option('--force', 'replace an existing /etc/qood/agent.yaml')
    .action(async (opts: InitFlags) => {
      const install = await import('../../agent/install/index.js');
      const kind = await chooseKind(install, opts.kind);
      if (opts.can !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(opts.can))
        throw new CliExit(EXIT.usage, `--can: expected an interface name such as can0, got '${opts.can}'`);
      const packageRoot = realpathSync(new URL('../../..', import.meta.url));
      const execStart =
        opts.execStart ?? `${process.execPath} ${realpathSync(new URL('../main.js', import.meta.url))}`;
      const options = {
        kind,
        root: resolve(opts.root),
        packageRoot,
        execStart,
        serial: opts.serial,
        gnss: opts.gnss,
        can: opts.can,
        bitrate: bitrate(opts.bitrate, '--bitrate'),
        dataBitrate: bitrate(opts.dataBitrate, '--data-bitrate'),
        force: opts.force === true,
        asRoot: process.getuid?.() === 0,
      };
      let plan: ReturnType<Install['planInit']>;
      try {
        plan = install.planInit(options);
      } catch (err) {
        if (err instanceof install.InstallError)
          throw new CliExit(err.code === 'BAD_OPTION' ? EXIT.usage : EXIT.failure, err.message);
        throw err;
      }
      const out = (line: string) => process.stdout.write(`${line}\n`);
      const changes = plan.steps.filter((s) => s.status === 'change').length;
      const dryRun = opts.dryRun === true;
      if (!dryRun && changes > 0 && opts.yes !== true) {
        if (!process.stdin.isTTY)
          throw new CliExit(
            EXIT.usage,
            'qood init: give --yes to change the system when not run on a terminal',
          );
        install.runPlan(plan, true, out);
        if (!(await confirm(`Make these ${changes} changes under ${options.root}? [y/N] `)))
          throw new CliExit(EXIT.failure, 'qood init: nothing changed');
      }
      out(`qood init --kind ${kind} into ${options.root}${dryRun ? ' (dry run)' : ''}`);
      try {
        install.runPlan(plan, dryRun, out);
      } catch (err) {
        if (err instanceof install.InstallError) throw new CliExit(EXIT.failure, err.message);
        throw err;
      }
    });
}
