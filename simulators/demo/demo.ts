/**
 * `qood demo`: one process that brings up every stage of QoodBlock on embedded defaults, feeds it
 * from simulators, and prints what flows:
 *
 *   a simulated car driving a loop through Zurich
 *     -> its CAN traffic (the simulator's DBC) on an in-memory bus, an ELM327 dongle emulator on an
 *        in-memory serial link, and a GNSS receiver emulator sending NMEA
 *     -> the agent: decode (DBC, J1979, NMEA) into VSS samples, collect, chunk, seal under keys
 *        derived from a fresh owner seed, store in SQLite, sync over MQTT
 *     -> an MQTT broker in this process -> a devnet of four `qood node` processes whose node 0 is
 *        the TSP's storage node and device link (verify, store, acknowledge, finality updates to
 *        the agent's light client, the device's anchors into the chain)
 *     -> a listener and a control grantee, revoked by the owner on the device
 *     -> a buyer who orders an anchored descriptor; the device fills the order with wrapped keys;
 *        the buyer fetches, verifies and decrypts, and the sale pays owner and OEM 70/30
 *     -> at the end, the owner checks and decrypts everything the storage node holds.
 *
 * State lives in a temporary folder that is removed at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfigSchema } from '../../agent/config/index.js';
import { CompiledDbc, parseDbc } from '../../agent/decode/can/index.js';
import { startAgent } from '../../agent/main/start-agent.js';
import { loadOrCreateDeviceKey } from '../../agent/seal/index.js';
import {
  checkSealedChunk,
  createBinding,
  decodeChunkBody,
  Ed25519Signer,
  generateMnemonic,
  openChunkBody,
  ownerEpochKey,
  ownerIdentity,
  seedFromMnemonic,
  toHex,
  UNIT,
  vehicleDataRoot,
} from '../../chain/index.js';
import { CanWire, MemorySerialPair, openNmeaSerial } from '../../firmware-bridge/index.js';
import { IngestStore } from '../../node/ingest/index.js';
import { silentLogger } from '../../process/log.js';
import { Metrics } from '../../process/metrics.js';
import { noopNotifier } from '../../process/service.js';
import { VehicleEcu } from '../elm327/ecus.js';
import { Elm327Device } from '../elm327/elm327-device.js';
import { Elm327Emulator } from '../elm327/elm327-emulator.js';
import { runNmeaEmulator } from '../nmea/emulator.js';
import { readSimDbc, SIM_DBC_PATH, SIM_MAP_PATH, SimFrameScheduler, simFile } from '../vehicle/can-frames.js';
import { VehicleModel } from '../vehicle/model.js';
import { startDemoBroker } from './broker.js';
import { type BuyerReport, DEMO_CHAIN_ID, DemoChain, runBuyer } from './demo-chain.js';
import { DemoGrantees, type GranteeAct, type GranteeReport } from './grantees.js';

export interface DemoOptions {
  /** Stop after this many seconds; run until `signal` aborts when undefined. */
  readonly seconds?: number;
  /** Prints one line as things flow (a no-op with --json). */
  readonly print: (line: string) => void;
  readonly signal?: AbortSignal;
  /** Simulation step in ms (the vehicle model and its CAN traffic advance this often). */
  readonly tickMs?: number;
}

/** What flowed, as `qood demo --json` prints it. */
export interface DemoSummary {
  readonly seconds: number;
  readonly stages: readonly string[];
  /** The agent's counters. */
  readonly counters: Readonly<Record<string, number>>;
  /** The storage node's counters (ingest, device link). */
  readonly node: Readonly<Record<string, number>>;
  /** What the buyer bought and read. */
  readonly market: BuyerReport;
  /** What the owner's check of the node's chunks found. */
  readonly verified: { readonly chunks: number; readonly samples: number; readonly failed: number };
  /** What the listener and the control grantee saw, and the lock frames the car received. */
  readonly permissions: GranteeReport & { readonly bodyCommandFrames: number };
  /** The last value of a few signals, to show what the agent saw. */
  readonly latest: Readonly<Record<string, number | string | boolean>>;
}

const SHOWN = [
  ['Vehicle.Speed', 'km/h'],
  ['Vehicle.Powertrain.CombustionEngine.Speed', 'rpm'],
  ['Vehicle.Powertrain.Transmission.CurrentGear', 'gear'],
  ['Vehicle.CurrentLocation.Latitude', '°N'],
  ['Vehicle.CurrentLocation.Longitude', '°E'],
] as const;

const VEHICLE = 'demo-vehicle';

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'qood-demo-'));
  const metrics = new Metrics();
  const stages: string[] = [];
  const startedMs = performance.now();
  const tickMs = options.tickMs ?? 20;
  const cleanups: (() => unknown)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };

  try {
    // The owner: a fresh seed; the device: its own key, paired with an owner-signed binding.
    const seed = seedFromMnemonic(generateMnemonic());
    const owner = ownerIdentity(seed);
    const ownerSigner = new Ed25519Signer(owner.secretKey);
    const oem = new Ed25519Signer(new Uint8Array(randomBytes(32)));
    const buyerSecret = new Uint8Array(randomBytes(32));
    const device = loadOrCreateDeviceKey(dir);
    writeFileSync(
      join(dir, 'binding.cbor'),
      createBinding({
        vehicleId: VEHICLE,
        devicePublicKey: device.publicKey,
        ownerSecretKey: owner.secretKey,
        dataRoot: vehicleDataRoot(seed, VEHICLE),
        oemPublicKey: oem.publicKey,
        epochLengthS: 3600,
        issuedMs: Date.now(),
      }),
    );

    // The vehicle, its CAN bus, its OBD port and its GNSS receiver.
    const model = new VehicleModel({ seed: 1 });
    const simDbc = new CompiledDbc(parseDbc(readSimDbc(), SIM_DBC_PATH));
    const scheduler = new SimFrameScheduler({
      encoder: {
        encode: (name, values) => {
          const m = simDbc.byName(name)!;
          return { id: m.message.id, extended: m.message.extended, data: m.encode(values) };
        },
      },
    });
    const wire = new CanWire();
    const ecu = wire.attach('sim0');
    cleanups.push(() => ecu.close());
    const obdLink = new MemorySerialPair('/dev/ttyUSB0', 'elm327');
    new Elm327Device({
      link: obdLink.b,
      emulator: new Elm327Emulator({
        car: { bus: 'can11', canKbps: 500, ecus: [new VehicleEcu({ source: model })] },
      }),
    });
    const gnssLink = new MemorySerialPair('/dev/ttyACM0', 'gnss');
    const gnssStop = new AbortController();
    cleanups.push(() => gnssStop.abort());
    void runNmeaEmulator({
      link: gnssLink.b,
      feed: { kind: 'route', model: new VehicleModel({ seed: 1 }), rateHz: 1, startUtcMs: Date.now() },
      signal: gnssStop.signal,
    }).catch(() => undefined);
    stages.push(
      'vehicle model',
      'CAN bus (in memory)',
      'ELM327 dongle (emulated)',
      'GNSS receiver (emulated NMEA)',
    );

    // The TSP: a broker, and a devnet of four nodes whose node 0 is the storage node and device
    // bridge; the owner puts the vehicle, the device and the OEM agreement on chain.
    const broker = await startDemoBroker();
    cleanups.push(() => broker.close());
    const chain = await DemoChain.start({
      dir: join(dir, 'devnet'),
      brokerUrl: broker.url,
      deviceKeys: { [VEHICLE]: toHex(device.publicKey) },
      funded: [
        { address: toHex(owner.publicKey), qdt: 100n * UNIT },
        { address: toHex(device.publicKey), qdt: 100n * UNIT },
        { address: toHex(new Ed25519Signer(buyerSecret).publicKey), qdt: 10n * UNIT, qdd: 1000n * UNIT },
      ],
    });
    cleanups.push(() => chain.stop());
    await chain.onboard({ vehicleId: VEHICLE, owner: ownerSigner, oem, device: device.publicKey });
    const checkpointHeight = await chain.writeCheckpoint(join(dir, 'checkpoint.bin'));

    const config = agentConfigSchema.parse({
      device: { vehicleId: VEHICLE, dataDir: dir, socketPath: join(dir, 'agent.sock') },
      sources: {
        can: [{ interface: 'sim0', dbc: SIM_DBC_PATH, map: SIM_MAP_PATH }],
        obd: { transport: 'elm327', port: '/dev/ttyUSB0', pids: { '0105': 1, '012F': 0.5 } },
        gnss: { source: 'nmea', port: '/dev/ttyACM0' },
      },
      sync: { broker: broker.url, ackTimeoutMs: 5000, protocolVersion: 4, nodeKeys: [chain.storageNodeKey] },
      chain: { checkpoint: join(dir, 'checkpoint.bin'), chainId: DEMO_CHAIN_ID },
      permissions: { profile: simFile('qood-sim.profile.yaml') },
      collect: {
        schemes: [
          {
            name: 'drive',
            kind: 'periodic',
            periodMs: 1000,
            signals: ['Vehicle.Speed', 'Vehicle.Powertrain.*', 'Vehicle.Chassis.*'],
          },
          { name: 'trip', kind: 'on-change', deadband: 0.5, signals: ['*'] },
          {
            name: 'location',
            kind: 'periodic',
            periodMs: 1000,
            signals: [{ path: 'Vehicle.CurrentLocation.*', privacy: 'private' }],
          },
        ],
        chunk: { maxAgeMs: 3000 },
      },
    });
    let chunks = 0;
    let rawBytes = 0;
    let sealedBytes = 0;
    const agent = await startAgent({
      config,
      logger: silentLogger,
      notifier: noopNotifier,
      metrics,
      openCanBus: async (src) => wire.attach(src.interface),
      openSerial: async () => obdLink.a,
      openGnss: (cfg) =>
        openNmeaSerial({ path: cfg.port!, baudRate: cfg.baud, openSerial: async () => gnssLink.a }),
      onChunkStored: (c) => {
        chunks++;
        rawBytes += c.rawBytes;
        sealedBytes += c.bytes.length;
      },
    });
    cleanups.push(() => agent.stop());
    stages.push(
      'agent: decode (DBC, J1979, NMEA) -> VSS samples',
      'collect -> chunk -> seal (owner keys) -> SQLite store',
      'sync over MQTT (broker in process)',
      'devnet: 4 qood node processes; node 0 stores, acknowledges, anchors and publishes finality',
      "agent: light client follows finality; anchors descriptors with the device's key",
      'grants: a listener and a control grantee over MQTT, revoked by the owner',
      'market: a buyer orders, the device fills, the buyer verifies and decrypts; owner and OEM paid',
    );

    // Third parties, and the frames their commands put on the car's bus.
    const bodyCommand = simDbc.byName('BODY_COMMAND')!.message.id;
    let bodyCommandFrames = 0;
    ecu.onFrame((f) => {
      if (f.id === bodyCommand) bodyCommandFrames++;
    });
    const grantees = new DemoGrantees({
      brokerUrl: broker.url,
      vehicleId: VEHICLE,
      ownerSecretKey: owner.secretKey,
      devicePublicKey: device.publicKey,
      permissions: agent.permissions!,
      print: options.print,
    });
    cleanups.push(() => grantees.close());
    await grantees.start();
    // The script, at fractions of a bounded run or at fixed seconds of an open one.
    const script: [GranteeAct, number, number][] = [
      ['grant', 0.15, 2],
      ['lock', 0.35, 4],
      ['unlock', 0.5, 6],
      ['revoke', 0.65, 8],
      ['after-revoke', 0.8, 9],
    ];
    for (const [act, fraction, second] of script) {
      const atMs = options.seconds === undefined ? second * 1000 : fraction * options.seconds * 1000;
      const t = setTimeout(() => void grantees.act(act).catch(() => undefined), atMs);
      cleanups.push(() => clearTimeout(t));
    }
    options.print(
      `owner ${toHex(owner.publicKey).slice(0, 16)}… paired device ${toHex(device.publicKey).slice(0, 16)}… with ${VEHICLE}`,
    );
    options.print(
      `vehicle ${model.current().vin} drives the Zurich loop: CAN on sim0, an ELM327 on /dev/ttyUSB0, NMEA on /dev/ttyACM0`,
    );
    options.print(
      `broker ${broker.url}; devnet of 4 nodes, node 0 (storage, device link) at ${chain.api}; the device trusts checkpoint height ${checkpointHeight}`,
    );
    // The buyer comes once a batch is cut and anchored (at 30% of a bounded run, or after 15 s).
    const cutAtMs = options.seconds === undefined ? 15_000 : 0.3 * options.seconds * 1000;
    let buyer: Promise<BuyerReport> | undefined;
    const buyerStop = new AbortController();
    cleanups.push(() => buyerStop.abort());
    const cut = setTimeout(() => {
      agent.flush();
      options.print('the agent cut its batches: descriptors stored, anchors queued for the chain');
      buyer = runBuyer({
        api: chain.api,
        secretKey: buyerSecret,
        vehicleId: VEHICLE,
        price: 25n * UNIT,
        print: options.print,
        signal: buyerStop.signal,
        timeoutMs: options.seconds === undefined ? 60_000 : 0.6 * options.seconds * 1000,
      });
    }, cutAtMs);
    cleanups.push(() => clearTimeout(cut));

    let simMs = 0;
    let lastReal = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      let due = now - lastReal;
      lastReal = now;
      while (due > 0) {
        const dt = Math.min(tickMs, due);
        due -= dt;
        simMs += dt;
        const state = model.step(dt);
        for (const f of scheduler.framesDue(simMs, state))
          void ecu.send({ id: f.id, extended: f.extended, data: f.data });
      }
    }, tickMs);
    cleanups.push(() => clearInterval(tick));
    let lastPrintS = 0;
    const printer = setInterval(() => {
      const s = Math.round((performance.now() - startedMs) / 1000);
      if (s === lastPrintS) return;
      lastPrintS = s;
      const parts = SHOWN.map(([p, unit]) => {
        const v = agent.latest.get(p)?.value;
        const digits = p.endsWith('Gear') ? 0 : p.includes('Location') ? 4 : 1;
        return typeof v === 'number' ? `${v.toFixed(digits)} ${unit}` : `- ${unit}`;
      });
      const c = (n: string) => metrics.counter(n);
      options.print(
        `t=${String(s).padStart(3)}s  ${parts.join('  ')}\n        frames ${c('frames.in')}  obd ${c('obd.responses')}  fixes ${c('gnss.fixes')}  samples ${c('samples.out')} -> kept ${c('samples.collected')}  chunks ${chunks} (${rawBytes} B -> ${sealedBytes} B sealed)  synced ${c('chunks.synced')}  acked ${agent.store?.counters()['chunks.acked'] ?? 0}  final height ${metrics.gauge('chain.finalHeight') ?? '-'}`,
      );
    }, 250);
    cleanups.push(() => clearInterval(printer));

    await waitFor(options.seconds, options.signal);
    clearInterval(tick);
    clearInterval(printer);
    clearTimeout(cut);
    // The buyer finishes (it has its own deadline, or stops now when Ctrl-C cut the run short).
    if (options.signal?.aborted) buyerStop.abort();
    const market: BuyerReport = (await buyer) ?? {
      anchor: null,
      orderId: null,
      filled: false,
      chunks: 0,
      samples: 0,
      split: {},
      error: 'the run ended before the buyer came',
    };
    // Close the open chunks and the batch, and give the sync time to deliver the chunks, the
    // descriptor and its queued transaction before stopping (it ends as soon as the outbox is
    // empty; the bound is for a node that stopped answering, and for a slow, loaded machine).
    const until = Date.now() + 20_000;
    const onDevice = (): number =>
      agent.store === undefined
        ? 0
        : agent.store.usage().chunks +
          agent.store.pendingDescriptors(1).length +
          agent.store.pendingTxs(1).length;
    // The OBD and GNSS emulators keep answering while the outbox drains: flush again each turn, and
    // stop in the same turn as the flush that found nothing left, so no sample waits for the stop.
    for (;;) {
      agent.flush();
      if (onDevice() === 0 || Date.now() >= until) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await agent.stop();
    const latest: Record<string, number | string | boolean> = {};
    for (const [p] of SHOWN) {
      const v = agent.latest.get(p)?.value;
      if (v !== undefined) latest[p] = v;
    }
    const nodeCounters = await chain.storageCounters().catch(() => ({}));
    await chain.stop();

    // The owner checks what the storage node holds: signature, hash, and decryption with the
    // owner's keys.
    const nodeStore = new IngestStore({ path: chain.ingestPath });
    cleanups.push(() => nodeStore.close());
    const root = vehicleDataRoot(seed, VEHICLE);
    let vChunks = 0;
    let vSamples = 0;
    let failed = 0;
    for (const r of nodeStore.rows()) {
      try {
        const c = checkSealedChunk(nodeStore.chunkBytes(r.id)!, device.publicKey);
        const body = openChunkBody(
          ownerEpochKey(root, c.header.stream, c.header.keyEpoch),
          c.header,
          c.ciphertext,
        );
        vSamples += decodeChunkBody(body).length;
        vChunks++;
      } catch {
        failed++;
      }
    }
    options.print(
      `\nthe owner checked the storage node's ${vChunks + failed} chunks: ${vChunks} verified and decrypted to ${vSamples} samples, ${failed} failed` +
        (chunks > vChunks
          ? `; ${chunks - vChunks} sealed at shutdown were still on the device, to sync next time`
          : '') +
        `\nthe node holds ${nodeStore.descriptorCount()} descriptor(s) of the batches and ${nodeStore.txCount()} transaction(s) the device queued for the chain`,
    );
    return {
      seconds: Math.round((performance.now() - startedMs) / 100) / 10,
      stages,
      counters: metrics.snapshot().counters,
      node: Object.fromEntries(
        Object.entries(nodeCounters).filter(([k]) => k.startsWith('ingest.') || k.startsWith('bridge.')),
      ),
      market,
      verified: { chunks: vChunks, samples: vSamples, failed },
      permissions: { ...grantees.report(), bodyCommandFrames },
      latest,
    };
  } finally {
    await cleanup();
  }
}

function waitFor(seconds: number | undefined, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = seconds === undefined ? undefined : setTimeout(done, seconds * 1000);
    if (signal?.aborted) done();
    signal?.addEventListener('abort', done);
  });
}
