/** `qood can ...`: CAN tools. `decode` turns a log into JSON lines of decoded signals. */
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { CliExit, EXIT } from '../exit-codes.js';

interface DecodeOpts {
  dbc: string;
  map?: string;
  choices?: boolean;
  format?: string;
  lenient?: boolean;
}

/** Creates the `can` command group and its subcommands; returns the group for more subcommands. */
export function registerCan(program: Command): Command {
  const can = program.command('can').description('CAN tools: decode logs with a DBC');
  can
    .command('decode')
    .description('decode a CAN log (candump -l, candump screen, ASC, TRC) into JSON lines of signal values')
    .requiredOption('--dbc <file>', 'DBC file describing the bus')
    .option('--map <file>', 'signal map: output VSS paths in dictionary units instead of DBC signal names')
    .option('--choices', 'print value-table names instead of raw values')
    .option('--format <format>', 'candump, candump-screen, asc or trc (default: detected)')
    .option('--lenient', 'count and skip log lines that do not parse instead of stopping')
    .argument('[log]', "log file, or '-' for standard input", '-')
    .action(async (log: string, opts: DecodeOpts) => {
      await decodeCommand(log, opts);
    });
  return can;
}

async function decodeCommand(log: string, opts: DecodeOpts): Promise<void> {
  const [{ loadDbcFile, DbcError }, { detectCanLogFormat, lineParser }, vssMap, { vssDictionary }] =
    await Promise.all([
      import('../../agent/decode/can/index.js'),
      import('../../simulators/can-log/index.js'),
      import('../../agent/decode/vss-map/index.js'),
      import('../../agent/dictionary/index.js'),
    ]);
  let dbc: ReturnType<typeof loadDbcFile>;
  try {
    dbc = loadDbcFile(opts.dbc);
  } catch (err) {
    if (err instanceof DbcError || (err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CliExit(EXIT.usage, `qood can decode: ${(err as Error).message}`);
    throw err;
  }
  for (const w of dbc.database.warnings)
    process.stderr.write(`${opts.dbc}:${w.line}: warning: ${w.message}\n`);
  let mapper: InstanceType<typeof vssMap.FrameMapper> | undefined;
  if (opts.map !== undefined) {
    try {
      mapper = new vssMap.FrameMapper(
        dbc,
        vssMap.resolveSignalMap(readFileSync(opts.map, 'utf8'), opts.map, dbc, vssDictionary()),
      );
    } catch (err) {
      throw new CliExit(EXIT.usage, `qood can decode: ${(err as Error).message}`);
    }
  }
  const formats = ['candump', 'candump-screen', 'asc', 'trc'];
  if (opts.format !== undefined && !formats.includes(opts.format))
    throw new CliExit(EXIT.usage, `--format: expected one of ${formats.join(', ')}, got '${opts.format}'`);

  const file = log === '-' ? '<stdin>' : log;
  const input = log === '-' ? process.stdin : createReadStream(log);
  input.on('error', () => {}); // reported through the readline loop below
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const counts = {
    lines: 0,
    frames: 0,
    decoded: 0,
    unknown: 0,
    lengthErrors: 0,
    badLines: 0,
    errorFrames: 0,
  };
  const out: string[] = [];
  const flush = () => {
    if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`);
    out.length = 0;
  };
  const pending: string[] = [];
  let parse: ReturnType<typeof lineParser> | undefined = opts.format
    ? lineParser(opts.format as never)
    : undefined;
  let lastUs = 0;
  let lineNo = 0;
  const handle = (line: string, n: number): void => {
    if (line.trim() === '') return;
    const r = parse!(line, lastUs);
    if (r.kind === 'error-frame') {
      counts.errorFrames++;
      return;
    }
    if (r.kind === 'skip') return;
    if (r.kind === 'bad') {
      if (!opts.lenient) {
        flush();
        throw new CliExit(
          EXIT.failure,
          `${file}:${n}: expected ${r.expected}; found '${line.trim().slice(0, 80)}' (use --lenient to skip such lines)`,
        );
      }
      counts.badLines++;
      process.stderr.write(`${file}:${n}: skipped: expected ${r.expected}\n`);
      return;
    }
    const f = r.frame;
    lastUs = f.wallUs;
    counts.frames++;
    const cm = dbc.lookup(f.id, f.extended);
    if (cm === undefined || f.rtr) {
      counts.unknown++;
      return;
    }
    const head = `{"t":${(f.wallUs / 1e6).toFixed(6)},"bus":${JSON.stringify(f.bus)},"id":"${f.id.toString(16).toUpperCase()}","message":${JSON.stringify(cm.message.name)}`;
    if (f.data.length < cm.message.length) {
      counts.lengthErrors++;
      out.push(
        `${head},"error":"payload of ${f.data.length} bytes; ${cm.message.name} has ${cm.message.length}"}`,
      );
      return;
    }
    let signals: Record<string, unknown>;
    if (mapper) {
      const samples: { path: string; value: unknown }[] = [];
      mapper.map(f, samples as never);
      signals = Object.fromEntries(samples.map((s) => [s.path, s.value]));
    } else {
      signals = cm.decode(f.data, { choices: opts.choices === true }).signals;
    }
    counts.decoded++;
    out.push(`${head},"signals":${JSON.stringify(signals)}}`);
    if (out.length >= 512) flush();
  };
  try {
    for await (const line of rl) {
      lineNo++;
      counts.lines++;
      if (parse === undefined) {
        pending.push(line);
        const fmt = detectCanLogFormat(pending.join('\n'));
        if (fmt === undefined && pending.length < 64) continue;
        if (fmt === undefined)
          throw new CliExit(EXIT.failure, `${file}: not a candump, ASC or TRC log (use --format)`);
        parse = lineParser(fmt);
        for (const [i, l] of pending.entries()) handle(l, lineNo - pending.length + 1 + i);
        pending.length = 0;
        continue;
      }
      handle(line, lineNo);
    }
    if (parse === undefined && pending.some((l) => l.trim() !== '')) {
      const fmt = detectCanLogFormat(pending.join('\n'));
      if (fmt === undefined)
        throw new CliExit(EXIT.failure, `${file}: not a candump, ASC or TRC log (use --format)`);
      parse = lineParser(fmt);
      for (const [i, l] of pending.entries()) handle(l, i + 1);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CliExit(EXIT.usage, `qood can decode: ${file}: no such file`);
    throw err;
  } finally {
    flush();
  }
  process.stderr.write(
    `${file}: ${counts.frames} frames, ${counts.decoded} decoded, ${counts.unknown} not in the DBC, ${counts.lengthErrors} wrong length, ${counts.errorFrames} error frames, ${counts.badLines} bad lines\n`,
  );
}
