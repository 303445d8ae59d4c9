/**
 * `qood gnss ...`: GNSS tools. `decode` turns an NMEA log into one fix per epoch, `watch` prints live
 * fixes from a serial receiver or gpsd, `emulate` puts a simulated receiver on a pseudo-terminal.
 */
import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import { CliExit, EXIT } from '../exit-codes.js';

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new CliExit(EXIT.usage, `${name}: expected a whole number > 0, got '${v}'`);
  return n;
}

/** Creates the `gnss` command group and its subcommands. */
export function registerGnss(program: Command): Command {
  const gnss = program
    .command('gnss')
    .description('GNSS tools: decode NMEA logs, watch a receiver or gpsd, emulate a receiver on a pty');
  gnss
    .command('decode')
    .description(
      'decode an NMEA 0183 log into one fix per receiver epoch; bad sentences are reported on stderr',
    )
    .argument('[file]', "NMEA log, or '-' for standard input", '-')
    .option(
      '--json',
      'one JSON object per epoch: {"t","lat","lon","altM","speedKmh","courseDeg","mode","sats","hdop"}',
    )
    .option('--quiet', 'do not list each bad sentence (the summary still counts them)')
    .action(async (file: string, opts: { json?: boolean; quiet?: boolean }) => {
      await decodeCommand(file, opts);
    });
  gnss
    .command('watch')
    .description('print live fixes from a serial NMEA receiver (--port) or from gpsd (--gpsd)')
    .option('--port <path>', 'serial device of an NMEA receiver (/dev/ttyACM0, /dev/ttyUSB0)')
    .option('--baud <n>', 'line speed of --port', '9600')
    .option('--gpsd <host:port>', 'a gpsd daemon (localhost:2947)')
    .option('--count <n>', 'stop after n fixes')
    .option('--json', 'JSON lines as `qood gnss decode --json` prints them')
    .action(async (opts: { port?: string; baud: string; gpsd?: string; count?: string; json?: boolean }) => {
      await watchCommand(opts);
    });
  gnss
    .command('emulate')
    .description(
      'a simulated GNSS receiver on a pseudo-terminal (--link) or behind a real gpsd (--gpsd): replays a log, or drives the simulated car',
    )
    .option(
      '--link <path>',
      "where to create the receiver's device (open it with qood gnss watch --port PATH)",
    )
    .option('--log <file>', 'replay this NMEA log with its own pacing (default: drive the Zurich loop)')
    .option('--speed <factor>', 'time factor: 1 original pacing, 2 twice as fast, 0 as fast as possible', '1')
    .option('--loop', 'with --log: start over at the end')
    .option('--rate <hz>', 'without --log: epochs per second (1..10)', '1')
    .option(
      '--gpsd <port>',
      'instead of a pty: a real gpsd on this TCP port, fed through gpsfake (gpsd-clients)',
    )
    .option('--seconds <n>', 'with --gpsd and no --log: length of the drive to play, looped', '600')
    .action(
      async (opts: {
        link?: string;
        log?: string;
        speed: string;
        loop?: boolean;
        rate: string;
        gpsd?: string;
        seconds: string;
      }) => {
        if (opts.gpsd !== undefined) await emulateGpsd({ ...opts, gpsd: opts.gpsd });
        else if (opts.link !== undefined) await emulateCommand({ ...opts, link: opts.link });
        else throw new CliExit(EXIT.usage, 'qood gnss emulate: give --link PATH (a pty) or --gpsd PORT');
      },
    );
  return gnss;
}

async function decodeCommand(file: string, opts: { json?: boolean; quiet?: boolean }): Promise<void> {
  const [{ NmeaDecoder }, { fixJson, fixText }] = await Promise.all([
    import('../../firmware-bridge/index.js'),
    import('../gnss-format.js'),
  ]);
  const name = file === '-' ? '<stdin>' : file;
  const out: string[] = [];
  const flush = () => {
    if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`);
    out.length = 0;
  };
  const modes = [0, 0, 0, 0];
  const decoder = new NmeaDecoder({
    allowComments: true,
    onFix: (f) => {
      modes[f.mode]!++;
      out.push(opts.json ? fixJson(f) : fixText(f));
      if (out.length >= 512) flush();
    },
    onProblem: (p) => {
      if (!opts.quiet) process.stderr.write(`${name}:${p.line}:${p.column}: ${p.message}\n`);
    },
  });
  const input = file === '-' ? process.stdin : createReadStream(file);
  let carry = '';
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      // Lines are split here (not by the decoder's framer) so problems carry the file's line numbers.
      let text = carry + chunk.toString('latin1');
      // A CR at the very end may be the first half of CR LF: hold it back with the last line.
      const heldCr = text.endsWith('\r');
      if (heldCr) text = text.slice(0, -1);
      const lines = text.split(/\r\n|\n|\r/);
      carry = (lines.pop() ?? '') + (heldCr ? '\r' : '');
      for (const l of lines) decoder.pushLine(l);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CliExit(EXIT.usage, `qood gnss decode: ${name}: no such file`);
    throw err;
  }
  const last = carry.replace(/\r$/, '');
  if (last !== '') decoder.pushLine(last);
  decoder.flush();
  flush();
  const s = decoder.stats();
  process.stderr.write(
    `${name}: ${s.lines} lines, ${s.sentences} sentences (${s.otherSentences} of other types), ${s.fixes} epochs (${modes[3]} 3D, ${modes[2]} 2D, ${modes[1]} no fix), ${s.checksumErrors} checksum errors, ${s.badSentences} bad sentences\n`,
  );
}

async function watchCommand(opts: {
  port?: string;
  baud: string;
  gpsd?: string;
  count?: string;
  json?: boolean;
}): Promise<void> {
  if ((opts.port === undefined) === (opts.gpsd === undefined))
    throw new CliExit(EXIT.usage, 'qood gnss watch: give either --port PATH or --gpsd HOST:PORT');
  const baudRate = positiveInt('--baud', opts.baud)!;
  const count = positiveInt('--count', opts.count);
  let host = '';
  let port = 0;
  if (opts.gpsd !== undefined) {
    const m = /^(.+):(\d{1,5})$/.exec(opts.gpsd);
    if (!m)
      throw new CliExit(EXIT.usage, `--gpsd: expected HOST:PORT such as localhost:2947, got '${opts.gpsd}'`);
    host = m[1]!;
    port = Number(m[2]);
  }
  const [fb, { fixJson, fixText }] = await Promise.all([
    import('../../firmware-bridge/index.js'),
    import('../gnss-format.js'),
  ]);
  let source: Awaited<ReturnType<typeof fb.openNmeaSerial>>;
  try {
    source =
      opts.port !== undefined
        ? await fb.openNmeaSerial({ path: opts.port, baudRate, openSerial: fb.openSerialPort })
        : await fb.openGpsdClient({ host, port, connect: (t) => fb.connectTcp(t) });
  } catch (err) {
    if (err instanceof fb.GnssSourceError) throw new CliExit(EXIT.failure, `qood gnss watch: ${err.message}`);
    throw err;
  }
  source.onEvent((e) => {
    if (e.type === 'bad-input') {
      const p = e.problem;
      process.stderr.write(`${e.where}: ${typeof p === 'string' ? p : `line ${p.line}: ${p.message}`}\n`);
    } else if (e.type === 'down') process.stderr.write(`${e.where}: down (${e.reason}); reopening\n`);
    else if (e.type === 'retry-failed')
      process.stderr.write(`${e.where}: still unavailable (${e.reason}); next try in ${e.nextInMs} ms\n`);
    else if (e.type === 'info') process.stderr.write(`${e.where}: ${e.message}\n`);
  });
  let n = 0;
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    source.onFix((f) => {
      if (count !== undefined && n >= count) return;
      n++;
      process.stdout.write(`${opts.json ? fixJson(f) : fixText(f)}\n`);
      if (count !== undefined && n >= count) resolve();
    });
  });
  const st = source.stats();
  await source.close();
  process.stderr.write(
    `${source.name}: ${st.fixes} fixes, ${st.badInput} bad input, ${st.disconnects} disconnects, ${st.reopens} reopens\n`,
  );
}

async function emulateCommand(opts: {
  link: string;
  log?: string;
  speed: string;
  loop?: boolean;
  rate: string;
}): Promise<void> {
  const speed = Number(opts.speed);
  if (!(speed >= 0)) throw new CliExit(EXIT.usage, `--speed: expected a number >= 0, got '${opts.speed}'`);
  const rateHz = positiveInt('--rate', opts.rate)!;
  if (rateHz > 10) throw new CliExit(EXIT.usage, `--rate: expected 1..10 epochs per second, got ${rateHz}`);
  const { readFileSync } = await import('node:fs');
  const [{ openSerialPort }, pty, emu, log, { VehicleModel }] = await Promise.all([
    import('../../firmware-bridge/index.js'),
    import('../../simulators/pty-pair.js'),
    import('../../simulators/nmea/emulator.js'),
    import('../../simulators/nmea/nmea-log.js'),
    import('../../simulators/vehicle/model.js'),
  ]);
  let epochs: ReturnType<typeof log.readNmeaLog> | undefined;
  if (opts.log !== undefined) {
    try {
      epochs = log.readNmeaLog(readFileSync(opts.log, 'latin1'));
    } catch (err) {
      throw new CliExit(EXIT.usage, `qood gnss emulate: ${(err as Error).message}`);
    }
    if (epochs.length === 0)
      throw new CliExit(EXIT.usage, `qood gnss emulate: ${opts.log}: no NMEA sentences`);
  }
  let pair: Awaited<ReturnType<typeof pty.openPtyPair>>;
  try {
    pair = await pty.openPtyPair(`${opts.link}.emulator`, opts.link);
  } catch (err) {
    throw new CliExit(EXIT.failure, `qood gnss emulate: ${(err as Error).message}`);
  }
  const link = await openSerialPort({ path: pair.devicePath, baudRate: 115200 });
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.stderr.write(
    `GNSS receiver on ${opts.link} (${epochs ? `replaying ${opts.log}` : 'driving the Zurich loop'}); try: qood gnss watch --port ${opts.link}\n`,
  );
  const r = await emu.runNmeaEmulator({
    link,
    signal: abort.signal,
    feed:
      epochs !== undefined
        ? { kind: 'log', epochs, speed, loop: opts.loop === true }
        : { kind: 'route', model: new VehicleModel({ seed: 1 }), rateHz, speed },
  });
  await link.close();
  await pair.close();
  process.stderr.write(`${r.epochs} epochs, ${r.sentences} sentences written (${r.stopped})\n`);
}

async function emulateGpsd(opts: {
  log?: string;
  speed: string;
  rate: string;
  gpsd: string;
  seconds: string;
}): Promise<void> {
  const port = positiveInt('--gpsd', opts.gpsd)!;
  const rateHz = positiveInt('--rate', opts.rate)!;
  const seconds = positiveInt('--seconds', opts.seconds)!;
  const speed = Number(opts.speed);
  if (!(speed > 0))
    throw new CliExit(EXIT.usage, `--speed: expected a number > 0 with --gpsd, got '${opts.speed}'`);
  const [{ mkdtempSync, readFileSync, rmSync, writeFileSync }, { tmpdir }, { join }] = await Promise.all([
    import('node:fs'),
    import('node:os'),
    import('node:path'),
  ]);
  const [{ startGpsfake }, { routeLog }, { readNmeaLog }, { VehicleModel }] = await Promise.all([
    import('../../simulators/nmea/gpsfake.js'),
    import('../../simulators/nmea/nmea-writer.js'),
    import('../../simulators/nmea/nmea-log.js'),
    import('../../simulators/vehicle/model.js'),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'qood-gpsfake-'));
  let file = opts.log;
  let sentences: number;
  let durationS: number;
  try {
    if (file === undefined) {
      file = join(dir, 'drive.nmea');
      const startUtcMs = Math.floor(Date.now() / 1000) * 1000;
      const text = routeLog(new VehicleModel({ seed: 1 }), {
        seconds,
        rateHz: Math.min(rateHz, 10),
        startUtcMs,
      });
      writeFileSync(file, text);
      sentences = text.split('\n').length - 1;
      durationS = seconds;
    } else {
      const epochs = readNmeaLog(readFileSync(file, 'latin1'));
      sentences = epochs.reduce((n, e) => n + e.lines.length, 0);
      durationS = Math.max(1, epochs.length);
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new CliExit(EXIT.usage, `qood gnss emulate: ${(err as Error).message}`);
  }
  // gpsfake paces per sentence: spread the drive's sentences over its duration.
  const cycleS = durationS / Math.max(1, sentences) / speed;
  let fake: Awaited<ReturnType<typeof startGpsfake>>;
  try {
    fake = await startGpsfake({ logFile: file, port, cycleS, once: false });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new CliExit(EXIT.failure, `qood gnss emulate: ${(err as Error).message}`);
  }
  process.stderr.write(
    `gpsd on 127.0.0.1:${port} playing ${opts.log ?? 'a drive round the Zurich loop'}; try: qood gnss watch --gpsd 127.0.0.1:${port}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
}
