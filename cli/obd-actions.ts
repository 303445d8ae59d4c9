/**
 * What `qood obd` does, loaded only when one of its commands runs: opening the adapter, the scan
 * report, the polling printer, clearing codes and the emulator on a pseudo-terminal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObdDecoder } from '../agent/decode/obd/index.js';
import { vssDictionary } from '../agent/dictionary/index.js';
import type { Sample } from '../chain/index.js';
import {
  Elm327,
  type Elm327Info,
  ObdClient,
  ObdError,
  openSerialPort,
  PollScheduler,
  pidName,
  SerialError,
  type SerialLink,
  startPollLoop,
} from '../firmware-bridge/index.js';
import { runUntilSignal } from '../process/signals.js';
import { VehicleEcu } from '../simulators/elm327/ecus.js';
import { Elm327Device } from '../simulators/elm327/elm327-device.js';
import { Elm327Emulator } from '../simulators/elm327/elm327-emulator.js';
import { openPtyPair } from '../simulators/pty-pair.js';
import { VehicleModel } from '../simulators/vehicle/model.js';
import { CliExit, EXIT } from './exit-codes.js';

/** Opens the port and initialises the chip; failures become exit 1 with the reason. */
async function openAdapter(
  cmd: string,
  port: string,
  baud: number,
): Promise<{ link: SerialLink; elm: Elm327; info: Elm327Info }> {
  let link: SerialLink;
  try {
    link = await openSerialPort({ path: port, baudRate: baud });
  } catch (e) {
    if (e instanceof SerialError) throw new CliExit(EXIT.failure, `qood obd ${cmd}: ${e.message}`);
    throw e;
  }
  const elm = new Elm327({ link });
  try {
    return { link, elm, info: await elm.initialise() };
  } catch (e) {
    await link.close();
    if (e instanceof ObdError)
      throw new CliExit(
        EXIT.failure,
        `qood obd ${cmd}: ${port}: the adapter did not answer (${e.message}); check the port and --baud`,
      );
    throw e;
  }
}

const vehicleProblem = (info: Elm327Info): string | undefined =>
  info.vehicle === 'ok' ? undefined : `the car did not answer (${info.vehicle}); is the ignition on?`;

/** `qood obd scan`. */
export async function scanCommand(port: string, baud: number, json: boolean): Promise<void> {
  const { link, elm, info } = await openAdapter('scan', port, baud);
  try {
    const client = new ObdClient({ transport: elm });
    const problem = vehicleProblem(info);
    const supported = problem ? [] : (await client.supportedPids()).all;
    const vin = problem ? undefined : await client.readVin();
    const dtcs = problem ? [] : await client.readAllDtcs();
    const report = {
      adapter: info.version,
      protocol: info.protocol ?? null,
      supportedPids: supported.map((p) => pidName(p)),
      vin: vin ?? null,
      dtcs: dtcs.map((d) => ({ code: d.code, kind: d.kind, ecu: d.ecu })),
    };
    if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      const lines = [
        `adapter   ${info.version}${info.device ? ` (${info.device})` : ''}`,
        `protocol  ${info.protocol ?? '-'}${info.protocolNumber ? ` [${info.protocolNumber}]` : ''}`,
        `vin       ${vin ?? '-'}`,
        `pids      ${report.supportedPids.join(' ') || '-'}`,
        `dtcs      ${dtcs.map((d) => `${d.code} (${d.kind}, ${d.ecu})`).join(', ') || 'none'}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    if (problem) process.stderr.write(`qood obd scan: ${problem}\n`);
  } catch (e) {
    if (e instanceof ObdError) throw new CliExit(EXIT.failure, `qood obd scan: ${e.message}`);
    throw e;
  } finally {
    await elm.close();
    await link.close();
  }
}

/** `qood obd poll`. */
export async function pollCommand(o: {
  port: string;
  baud: number;
  pids: number[] | undefined;
  rateHz: number;
  count: number | undefined;
  json: boolean;
}): Promise<void> {
  const { link, elm, info } = await openAdapter('poll', o.port, o.baud);
  const decoder = new ObdDecoder(vssDictionary());
  const problem = vehicleProblem(info);
  if (problem) {
    await link.close();
    throw new CliExit(EXIT.failure, `qood obd poll: ${problem}`);
  }
  const client = new ObdClient({ transport: elm });
  const supported = await client.supportedPids();
  const pids = o.pids ?? supported.all.filter((p) => decoder.signals(p) !== undefined);
  if (pids.length === 0) {
    await link.close();
    throw new CliExit(EXIT.failure, 'qood obd poll: the car supports none of the PIDs this decoder knows');
  }
  const expected = new Map<number, number>();
  for (const p of pids) {
    const n = [...supported.byEcu.values()].filter((list) => list.includes(p)).length;
    if (n > 0) expected.set(p, n);
  }
  let printed = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const samples: Sample[] = [];
  const loop = startPollLoop({
    transport: elm,
    scheduler: new PollScheduler({ targets: pids.map((pid) => ({ pid, rateHz: o.rateHz })) }),
    expectedReplies: expected,
    onResponse: (pid, responses, wallUs) => {
      for (const r of responses) {
        samples.length = 0;
        decoder.decode(r.data, wallUs, samples);
        for (const s of samples) {
          if (o.count !== undefined && printed >= o.count) continue;
          const unit = decoder.signals(pid)?.find((x) => x.path === s.path)?.unit ?? '';
          const name = pidName(pid);
          process.stdout.write(
            o.json
              ? `${JSON.stringify({ t: s.tUs / 1e6, pid: name, ecu: r.ecu, path: s.path, value: s.value, unit })}\n`
              : `${name} ${r.ecu} ${s.path} ${s.value}${unit ? ` ${unit}` : ''}\n`,
          );
          printed++;
        }
      }
      if (o.count !== undefined && printed >= o.count) done();
    },
    onError: (pid, e) => {
      process.stderr.write(`qood obd poll: ${pidName(pid)}: ${e.message}\n`);
      if (e.code === 'DISCONNECTED' || e.code === 'CLOSED') done();
    },
  });
  if (o.count === undefined)
    void runUntilSignal(
      async () => done(),
      () => {},
    );
  await finished;
  await loop.stop();
  await elm.close();
  await link.close();
  if (!link.isOpen && printed === 0) process.exitCode = EXIT.failure;
}

/** `qood obd clear-dtcs --yes`. */
export async function clearCommand(port: string, baud: number): Promise<void> {
  const { link, elm, info } = await openAdapter('clear-dtcs', port, baud);
  try {
    const problem = vehicleProblem(info);
    if (problem) throw new CliExit(EXIT.failure, `qood obd clear-dtcs: ${problem}`);
    const ecus = await new ObdClient({ transport: elm }).clearDtcs();
    process.stdout.write(`trouble codes cleared by ${ecus.join(', ')}\n`);
  } catch (e) {
    if (e instanceof ObdError) throw new CliExit(EXIT.failure, `qood obd clear-dtcs: ${e.message}`);
    throw e;
  } finally {
    await elm.close();
    await link.close();
  }
}

/** `qood obd emulate`: the emulator on one end of a socat pty pair, the user on `link`. */
export async function emulateCommand(o: {
  link: string;
  baud: number;
  bus: 'can11' | 'can29' | 'kwp';
  vin: string;
  dtcs: string[];
}): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qood-elm-'));
  const emuEnd = join(dir, 'elm327');
  let pty: Awaited<ReturnType<typeof openPtyPair>>;
  try {
    pty = await openPtyPair(emuEnd, o.link);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new CliExit(
      EXIT.failure,
      `qood obd emulate: ${(e as Error).message} (is socat installed? apt-get install socat)`,
    );
  }
  const model = new VehicleModel({ vin: o.vin });
  for (const d of o.dtcs) model.addDtc(d);
  const stepMs = 100;
  const timer = setInterval(() => model.step(stepMs), stepMs);
  const address = o.bus === 'can29' ? 0x18daf110 : o.bus === 'kwp' ? 0x10 : 0x7e8;
  const emulator = new Elm327Emulator({
    car: {
      bus: o.bus,
      canKbps: 500,
      ecus: [new VehicleEcu({ source: model, address, clearDtcs: () => model.clearDtcs() })],
      get batteryV() {
        return model.current().batteryVoltageV;
      },
    },
  });
  const link = await openSerialPort({ path: emuEnd, baudRate: o.baud });
  const device = new Elm327Device({ link, emulator, baudRate: o.baud, obdLatencyMs: 2 });
  process.stdout.write(
    `ELM327 emulator on ${o.link} (${o.baud} baud, ${o.bus}); try: qood obd scan --port ${o.link}\n`,
  );
  const stop = async () => {
    clearInterval(timer);
    await device.link.close().catch(() => {});
    await pty.close();
    rmSync(dir, { recursive: true, force: true });
  };
  // socat ends when the emulator's end goes away; stop on a signal, or if socat dies.
  await Promise.race([runUntilSignal(stop, () => {}), pty.exited.then(stop)]);
}
