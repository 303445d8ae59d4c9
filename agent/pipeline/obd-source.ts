/**
 * OBD-II as a source of samples: polls service 01 PIDs over an `ObdTransport` (an ELM327 that
 * reopens itself, or ISO-TP on a CAN bus), decodes each response with the J1979 table and hands the
 * samples to the same sink the CAN source feeds. Without configured PIDs it discovers what the car
 * supports (retrying while the adapter is away) and polls every PID the table decodes at 1 Hz. The
 * VIN is read once and emitted as `Vehicle.VehicleIdentification.VIN`. Counts responses, errors by
 * code and samples in the agent's metrics; never throws from its loop.
 */

import type { Sample } from '../../chain/index.js';
import {
  type CanBus,
  Elm327Connection,
  IsoTpObdTransport,
  ObdClient,
  type ObdError,
  type ObdTransport,
  type OpenSerial,
  type PollLoop,
  PollScheduler,
  type PollTarget,
  pidName,
  startPollLoop,
} from '../../firmware-bridge/index.js';
import type { Logger, Metrics } from '../../process/index.js';
import type { ObdSourceConfig } from '../config/index.js';
import type { ObdDecoder } from '../decode/obd/index.js';
import { AgentError } from '../errors.js';

export interface ObdSourceOptions {
  readonly transport: ObdTransport;
  readonly decoder: ObdDecoder;
  /** PIDs as `01XX` with a rate in Hz; empty: every supported PID the decoder knows, at 1 Hz. */
  readonly pids: Readonly<Record<string, number>>;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Receives the samples of one response; the array is reused after the call returns. */
  readonly onSamples: (samples: readonly Sample[]) => void;
  /** Pause between discovery attempts while the vehicle or adapter does not answer, ms (default 2000). */
  readonly retryMs?: number;
}

/** A polling OBD source. */
export class ObdSource {
  readonly #scratch: Sample[] = [];
  #loop: PollLoop | undefined;
  #stopped = false;
  #started: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  readonly #o: ObdSourceOptions;

  constructor(options: ObdSourceOptions) {
    this.#o = options;
  }

  /** Starts discovery and polling in the background. */
  start(): void {
    this.#o.metrics.declare('obd.responses', 'obd.errors', 'samples.out');
    this.#started ??= this.#run();
  }

  /** The PIDs being polled, once polling has begun. */
  polling: readonly number[] = [];

  async #run(): Promise<void> {
    const { transport, decoder, logger } = this.#o;
    const client = new ObdClient({ transport });
    let targets: PollTarget[] = Object.entries(this.#o.pids).map(([p, hz]) => ({
      pid: Number.parseInt(p.slice(2), 16),
      rateHz: hz,
    }));
    const expected = new Map<number, number>();
    let vinRead = false;
    while (!this.#stopped && (targets.length === 0 || !vinRead)) {
      try {
        if (targets.length === 0) {
          const sup = await client.supportedPids();
          targets = sup.all
            .filter((p) => decoder.signals(p) !== undefined)
            .map((pid) => ({ pid, rateHz: 1 }));
          for (const t of targets)
            expected.set(t.pid, [...sup.byEcu.values()].filter((l) => l.includes(t.pid)).length);
          logger.info({ pids: targets.map((t) => pidName(t.pid)) }, 'OBD PIDs discovered');
          if (targets.length === 0)
            throw new AgentError('OBD_NO_KNOWN_PID', 'the vehicle supports no PID this decoder knows');
        }
        const vin = await client.readVin();
        vinRead = true;
        if (vin !== undefined)
          this.#emit([{ path: 'Vehicle.VehicleIdentification.VIN', tUs: Date.now() * 1000, value: vin }]);
      } catch (e) {
        this.#o.metrics.inc('obd.errors');
        logger.warn({ err: (e as Error).message }, 'OBD discovery failed; retrying');
        await new Promise<void>((r) => {
          this.#timer = setTimeout(r, this.#o.retryMs ?? 2000);
        });
      }
    }
    if (this.#stopped) return;
    this.polling = targets.map((t) => t.pid);
    this.#loop = startPollLoop({
      transport,
      scheduler: new PollScheduler({ targets }),
      expectedReplies: expected,
      onResponse: (_pid, responses, wallUs) => {
        this.#o.metrics.inc('obd.responses', responses.length);
        const out = this.#scratch;
        out.length = 0;
        for (const r of responses) decoder.decode(r.data, wallUs, out);
        this.#emit(out);
      },
      onError: (pid, e: ObdError) => {
        this.#o.metrics.inc('obd.errors');
        logger.debug({ pid: pidName(pid), code: e.code }, e.message);
      },
    });
  }

  #emit(samples: readonly Sample[]): void {
    if (samples.length === 0) return;
    this.#o.metrics.inc('samples.out', samples.length);
    this.#o.onSamples(samples);
  }

  /** Stops polling (the transport is closed by its owner). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#loop?.stop();
  }
}

/**
 * Opens the transport an `obd` config section names: a self-reopening ELM327, or ISO-TP on a CAN
 * bus. Throws AgentError NO_CAN_DRIVER for ISO-TP where this build cannot open CAN.
 */
export async function openObdTransport(
  config: ObdSourceConfig,
  io: { openSerial: OpenSerial; openCanBus: ((iface: string) => Promise<CanBus>) | undefined },
  logger: Logger,
): Promise<ObdTransport> {
  if (config.transport === 'isotp') {
    if (!io.openCanBus)
      throw new AgentError(
        'NO_CAN_DRIVER',
        'an OBD source over ISO-TP is configured but this build has no CAN driver',
        { field: 'sources.obd.transport', interface: config.interface! },
      );
    const bus = await io.openCanBus(config.interface!);
    const t = new IsoTpObdTransport({ bus, addressing: config.addressing });
    return {
      kind: 'isotp',
      request: (r, o) => t.request(r, o),
      close: async () => {
        await t.close();
        await bus.close();
      },
    };
  }
  const conn = new Elm327Connection({
    open: io.openSerial,
    path: config.port!,
    baudRate: config.baud,
    onEvent: (e) => {
      if (e.type === 'connected')
        logger.info(
          { port: e.path, adapter: e.info.version, protocol: e.info.protocol, vehicle: e.info.vehicle },
          'OBD adapter connected',
        );
      else if (e.type === 'disconnected')
        logger.warn({ port: e.path, reason: e.reason }, 'OBD adapter disconnected');
      else
        logger.debug(
          { port: e.path, attempt: e.attempt, delayMs: e.delayMs, err: e.error },
          'OBD adapter reopen scheduled',
        );
    },
  });
  void conn.start();
  return conn;
}
