/**
 * The agent's sources, in two steps. `openSources` loads what the config names and opens the
 * devices: each CAN bus with its DBC and signal map (a file that does not load stops the start with
 * its file:line), the OBD-II transport, the GNSS receiver. Nothing flows yet. `start` then hands
 * every source the sink, once the data path behind it exists, so no sample is decoded before there
 * is somewhere to store it. Each device is closed, and each source stopped, by the teardown.
 */
import { readFileSync } from 'node:fs';
import type { Sample } from '../../chain/index.js';
import type { CanBus, GnssSource, ObdTransport } from '../../firmware-bridge/index.js';
import type { Logger, Metrics } from '../../process/index.js';
import type { AgentConfig, CanSourceConfig, GnssSourceConfig, ObdSourceConfig } from '../config/index.js';
import { loadDbcFile } from '../decode/can/index.js';
import { ObdDecoder } from '../decode/obd/index.js';
import { FrameMapper, resolveSignalMap } from '../decode/vss-map/index.js';
import { vssDictionary } from '../dictionary/index.js';
import { AgentError } from '../errors.js';
import { CanSource } from '../pipeline/can-source.js';
import { GnssPipelineSource } from '../pipeline/gnss-source.js';
import { ObdSource, openObdTransport } from '../pipeline/obd-source.js';
import type { Adapters } from './adapters.js';
import type { Teardown } from './teardown.js';

/** Where every source hands its samples; the array is reused after the call returns. */
export type SampleSink = (samples: readonly Sample[]) => void;

/** The configured sources, their devices open, not yet started. */
export interface OpenedSources {
  /** The CAN buses the sources opened, by interface (the actuator writes on them too). */
  readonly buses: ReadonlyMap<string, CanBus>;
  /** Starts every source; from now on their samples go to `sink`. */
  start(sink: SampleSink): void;
}

export interface OpenSourcesOptions {
  readonly config: AgentConfig;
  readonly adapters: Adapters;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly teardown: Teardown;
}

/** Opens the sources of `config.sources`. Throws DbcError or SignalMapError for a file that does not load. */
export async function openSources(o: OpenSourcesOptions): Promise<OpenedSources> {
  const { sources } = o.config;
  const buses = new Map<string, CanBus>();
  const starts: ((sink: SampleSink) => void)[] = [];
  for (const src of sources.can) {
    const opened = await openCan(src, o);
    buses.set(src.interface, opened.bus);
    starts.push((sink) => startCan(src, opened, sink, o));
  }
  if (sources.obd !== undefined) {
    const cfg = sources.obd;
    const transport = await openObdTransport(
      cfg,
      { openSerial: o.adapters.openSerial, openCanBus: canOpener(o.adapters) },
      o.logger.child({ source: 'obd' }),
    );
    o.teardown.add(() => transport.close());
    starts.push((sink) => startObd(cfg, transport, sink, o));
  }
  if (sources.gnss !== undefined) {
    const cfg = sources.gnss;
    const receiver = await o.adapters.openGnss(cfg);
    o.teardown.add(() => receiver.close());
    // GNSS speed is Vehicle.Speed only where no vehicle bus reports the wheel speed.
    const speedToVehicleSpeed = sources.can.length === 0 && sources.obd === undefined;
    starts.push((sink) => startGnss(cfg, receiver, speedToVehicleSpeed, sink, o));
  }
  return {
    buses,
    start(sink) {
      for (const start of starts) start(sink);
    },
  };
}

/** Opens a CAN bus by interface name for ISO-TP or the actuator (classic frames); undefined without a CAN driver. */
export function canOpener(adapters: Adapters): ((iface: string) => Promise<CanBus>) | undefined {
  const open = adapters.openCanBus;
  return open === undefined ? undefined : (iface) => open({ interface: iface, fd: false });
}

/** A CAN bus open with the mapper of its DBC and signal map. */
interface OpenedCan {
  readonly bus: CanBus;
  readonly mapper: FrameMapper;
  /** Messages the DBC defines (for the log). */
  readonly messages: number;
}

async function openCan(src: CanSourceConfig, o: OpenSourcesOptions): Promise<OpenedCan> {
  const dbc = loadDbcFile(src.dbc);
  for (const w of dbc.database.warnings) o.logger.warn({ file: src.dbc, line: w.line }, w.message);
  const mappings =
    src.map === undefined
      ? undefined
      : resolveSignalMap(readFileSync(src.map, 'utf8'), src.map, dbc, vssDictionary());
  const open = o.adapters.openCanBus;
  if (open === undefined)
    throw new AgentError(
      'NO_CAN_DRIVER',
      'CAN sources are configured but this build has no CAN driver to open them',
      { field: 'sources.can', interface: src.interface },
    );
  const bus = await open(src);
  o.teardown.add(() => bus.close());
  return { bus, mapper: new FrameMapper(dbc, mappings), messages: dbc.database.messages.length };
}

function startCan(src: CanSourceConfig, can: OpenedCan, sink: SampleSink, o: OpenSourcesOptions): void {
  const source = new CanSource({
    bus: can.bus,
    mapper: can.mapper,
    metrics: o.metrics,
    logger: o.logger.child({ bus: src.interface }),
    onSamples: sink,
  });
  source.start();
  o.teardown.add(() => source.stop());
  o.logger.info({ bus: src.interface, dbc: src.dbc, messages: can.messages }, 'CAN source started');
}

function startObd(
  cfg: ObdSourceConfig,
  transport: ObdTransport,
  sink: SampleSink,
  o: OpenSourcesOptions,
): void {
  const logger = o.logger.child({ source: 'obd' });
  const source = new ObdSource({
    transport,
    decoder: new ObdDecoder(vssDictionary()),
    pids: cfg.pids,
    metrics: o.metrics,
    logger,
    onSamples: sink,
  });
  source.start();
  o.teardown.add(() => source.stop());
  logger.info({ transport: cfg.transport, port: cfg.port, interface: cfg.interface }, 'OBD source started');
}

function startGnss(
  cfg: GnssSourceConfig,
  receiver: GnssSource,
  speedToVehicleSpeed: boolean,
  sink: SampleSink,
  o: OpenSourcesOptions,
): void {
  const gnss = new GnssPipelineSource({
    source: receiver,
    maxClockSkewMs: cfg.maxClockSkewMs,
    metrics: o.metrics,
    logger: o.logger.child({ gnss: receiver.name }),
    onSamples: sink,
    speedToVehicleSpeed,
  });
  gnss.start();
  o.teardown.add(() => gnss.stop());
  o.logger.info({ gnss: receiver.name }, 'GNSS source started');
}
