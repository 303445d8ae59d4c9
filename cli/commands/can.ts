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
  const can = program
    .command('can')
    .description('CAN tools: decode logs, replay them onto an interface, dump live traffic');
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
  can
    .command('replay')
    .description('replay a CAN log onto an interface with its original timing, as canplayer does')
    .argument('<log>', 'candump -l, candump screen, ASC or TRC log')
    .requiredOption('--iface <name>', 'SocketCAN interface to send on (can0, vcan0)')
    .option('--speed <factor>', 'time factor: 1 original, 2 twice as fast, 0 as fast as possible', '1')
    .option('--loop [n]', 'play the log n times (no n: until interrupted)')
    .option('--from-bus <name>', 'only frames logged on this bus')
    .action(
      async (
        log: string,
        opts: { iface: string; speed: string; loop?: string | boolean; fromBus?: string },
      ) => {
        const speed = Number(opts.speed);
        if (!(speed >= 0))
          throw new CliExit(EXIT.usage, `--speed: expected a number >= 0, got '${opts.speed}'`);
        const loops = opts.loop === undefined ? 1 : opts.loop === true ? 0 : Number(opts.loop);
        if (!Number.isInteger(loops) || loops < 0)
          throw new CliExit(EXIT.usage, `--loop: expected a whole number, got '${opts.loop}'`);
        const [{ readCanLog, CanLogError }, { openSocketCan, CanBusError }, { replay }] = await Promise.all([
          import('../../simulators/can-log/index.js'),
          import('../../firmware-bridge/index.js'),
          import('../../simulators/can-replay.js'),
        ]);
        let frames: ReturnType<typeof readCanLog>['frames'];
        try {
          frames = readCanLog(readFileSync(log, 'utf8'), { file: log }).frames;
        } catch (err) {
          if (err instanceof CanLogError || (err as NodeJS.ErrnoException).code === 'ENOENT')
            throw new CliExit(EXIT.usage, `qood can replay: ${(err as Error).message}`);
          throw err;
        }
        let bus: Awaited<ReturnType<typeof openSocketCan>>;
        try {
          bus = await openSocketCan({ interface: opts.iface });
        } catch (err) {
          if (err instanceof CanBusError) throw new CliExit(EXIT.failure, `qood can replay: ${err.message}`);
          throw err;
        }
        const abort = new AbortController();
        process.once('SIGINT', () => abort.abort());
        process.once('SIGTERM', () => abort.abort());
        const r = await replay({
          frames,
          bus,
          speed,
          loops,
          signal: abort.signal,
          ...(opts.fromBus ? { fromBus: opts.fromBus } : {}),
        });
        await bus.close();
        process.stderr.write(
          `${log}: ${r.sent} frames sent on ${opts.iface} in ${r.loops} loop(s), ${r.failed} failed, timing kept within ${r.maxLagMs.toFixed(1)} ms\n`,
        );
        if (r.failed > 0) process.exitCode = EXIT.failure;
      },
    );

  can
    .command('dump')
    .description('print live frames from an interface: candump -L lines, or decoded JSON lines with --dbc')
    .argument('<iface>', 'SocketCAN interface (can0, vcan0)')
    .option('--dbc <file>', 'decode with this DBC (JSON lines as `qood can decode` prints)')
    .option('--map <file>', 'with --dbc: VSS paths in dictionary units')
    .option('--count <n>', 'stop after n frames')
    .action(async (iface: string, opts: { dbc?: string; map?: string; count?: string }) => {
      const [{ openSocketCan, CanBusError }, { writeCandumpLog }, dec, vssMap, { vssDictionary }] =
        await Promise.all([
          import('../../firmware-bridge/index.js'),
          import('../../simulators/can-log/index.js'),
          import('../../agent/decode/can/index.js'),
          import('../../agent/decode/vss-map/index.js'),
          import('../../agent/dictionary/index.js'),
        ]);
      const limit = opts.count === undefined ? Number.POSITIVE_INFINITY : Number(opts.count);
      let dbc: ReturnType<typeof dec.loadDbcFile> | undefined;
      let mapper: InstanceType<typeof vssMap.FrameMapper> | undefined;
      try {
        if (opts.dbc) dbc = dec.loadDbcFile(opts.dbc);
        if (dbc && opts.map)
          mapper = new vssMap.FrameMapper(
            dbc,
            vssMap.resolveSignalMap(readFileSync(opts.map, 'utf8'), opts.map, dbc, vssDictionary()),
          );
      } catch (err) {
        throw new CliExit(EXIT.usage, `qood can dump: ${(err as Error).message}`);
      }
      let bus: Awaited<ReturnType<typeof openSocketCan>>;
      try {
        bus = await openSocketCan({ interface: iface });
      } catch (err) {
        if (err instanceof CanBusError) throw new CliExit(EXIT.failure, `qood can dump: ${err.message}`);
        throw err;
      }
      let n = 0;
      // On stderr, so scripts can wait for it before sending: stdout carries only frames.
      process.stderr.write(`${iface}: listening${opts.count === undefined ? '' : ` for ${limit} frames`}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        bus.onEvent((e) =>
          process.stderr.write(`${iface}: ${e.type}${e.type === 'error' ? ` ${e.kinds.join(',')}` : ''}\n`),
        );
        bus.onFrame((f) => {
          if (n >= limit) return;
          n++;
          if (!dbc) process.stdout.write(writeCandumpLog([f]));
          else {
            const cm = dbc.lookup(f.id, f.extended);
            if (cm) {
              let signals: Record<string, unknown>;
              if (mapper) {
                const samples: { path: string; value: unknown }[] = [];
                mapper.map(f, samples as never);
                signals = Object.fromEntries(samples.map((x) => [x.path, x.value]));
              } else signals = cm.decode(f.data).signals;
              process.stdout.write(
                `${JSON.stringify({ t: f.wallUs / 1e6, bus: f.bus, id: f.id.toString(16).toUpperCase(), message: cm.message.name, signals })}\n`,
              );
            }
          }
          if (n >= limit) resolve();
        });
      });
      await bus.close();
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
