/**
 * The agent's `chain` config section as a device runs it: the trusted checkpoint file is read at
 * start (a bad one stops the start with the file and the reason), and finality updates published on
 * the broker move the light client's final height, which the local API reports.
 *
 * Issue 14, attack 8 ("the agent stops for good after 30 days"): the light client's state is saved
 * in the data folder and resumed after a restart (across a schedule change), a damaged state file
 * falls back to the checkpoint, one of another chain is refused, and a head older than the trust
 * window degrades the agent (it collects, stores and serves the owner) instead of stopping it.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CheckpointFileError,
  encodeLightState,
  finalityTopic,
  LIGHT_STATE_FILE,
} from '../../../../agent/chain/index.js';
import { agentConfigSchema } from '../../../../agent/config/index.js';
import { loadDbcFile } from '../../../../agent/decode/can/index.js';
import { startAgent } from '../../../../agent/main/start-agent.js';
import { loadOrCreateDeviceKey } from '../../../../agent/seal/index.js';
import { MemoryBroker } from '../../../../agent/sync/memory-uplink.js';
import {
  createBinding,
  encodeCheckpoint,
  ownerIdentity,
  seedFromMnemonic,
  vehicleDataRoot,
} from '../../../../chain/index.js';
import { type CanFrame, CanWire } from '../../../../firmware-bridge/index.js';
import { callLocalApi } from '../../../../process/local-api/client.js';
import type { Logger } from '../../../../process/log.js';
import { silentLogger } from '../../../../process/log.js';
import { noopNotifier } from '../../../../process/service.js';
import { SIM_DBC_PATH, SIM_MAP_PATH } from '../../../../simulators/vehicle/can-frames.js';
import { chainViewRig } from '../../../support/chain-view-rig.js';
import { waitUntil } from '../../../support/cli.js';
import { buildLightChain, checkpointAt, LIGHT_T0 } from '../../../support/light-chain.js';
import { VECTOR_MNEMONIC } from '../../../vectors/generate-data.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-agent-chain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(checkpoint: string, n: number, dataDir = dir) {
  return agentConfigSchema.parse({
    device: { vehicleId: 'light-car-1', dataDir, socketPath: join(dir, `a${n}.sock`) },
    sync: { broker: 'mqtt://broker.invalid:1883' },
    chain: { checkpoint, maxCheckpointAgeDays: 365 },
  });
}

/** Makes `dataDir` a paired device of light-car-1: its key and the owner's binding. */
function pairDevice(dataDir: string): void {
  const seed = seedFromMnemonic(VECTOR_MNEMONIC);
  const key = loadOrCreateDeviceKey(dataDir);
  writeFileSync(
    join(dataDir, 'binding.cbor'),
    createBinding({
      vehicleId: 'light-car-1',
      devicePublicKey: key.publicKey,
      ownerSecretKey: ownerIdentity(seed).secretKey,
      dataRoot: vehicleDataRoot(seed, 'light-car-1'),
      epochLengthS: 600,
      issuedMs: LIGHT_T0,
    }),
  );
}

describe('agent with a chain section', () => {
  it('starts from the checkpoint file and follows finality updates from the broker', async () => {
    const rig = chainViewRig();
    const file = join(dir, 'checkpoint.cbor');
    writeFileSync(file, encodeCheckpoint(checkpointAt(rig.chain, 1)));
    const broker = new MemoryBroker();
    const node = broker.connect('node');
    const agent = await startAgent({
      config: config(file, 1),
      logger: silentLogger,
      notifier: noopNotifier,
      openUplink: () => broker.connect('device'),
      nowMs: () => LIGHT_T0 + 60_000,
    });
    try {
      const height = async () =>
        ((await callLocalApi(join(dir, 'a1.sock'), 'chain.status')) as { finalHeight: number }).finalHeight;
      expect(await height()).toBe(1);
      await new Promise((r) => setTimeout(r, 10));
      await node.publish(finalityTopic(), rig.updateBytes(4));
      // Bounds that only end a hung test: the in-process broker delivers at once, but a loaded
      // two-core machine can stall a test process for a second or more.
      await waitUntil(async () => (await height()) === 4, 10_000, 'final height 4');
      await node.publish(finalityTopic(), Uint8Array.of(1, 2, 3));
      await node.publish(finalityTopic(), rig.updateBytes(9));
      await waitUntil(async () => (await height()) === 9, 10_000, 'final height 9 after a garbage update');
      expect(agent.metrics.snapshot().counters['chain.refused']).toBe(1);
    } finally {
      await agent.stop();
    }
  });

  it('refuses to start with a checkpoint file that is missing or not a checkpoint, naming it', async () => {
    const bad = join(dir, 'bad.cbor');
    writeFileSync(bad, 'not cbor');
    const opts = {
      logger: silentLogger,
      notifier: noopNotifier,
      openUplink: () => new MemoryBroker().connect('d'),
    };
    await expect(startAgent({ ...opts, config: config(bad, 2) })).rejects.toThrow(`${bad}: not a checkpoint`);
    await expect(startAgent({ ...opts, config: config(join(dir, 'none.cbor'), 3) })).rejects.toThrow(
      /none\.cbor: cannot read the checkpoint \(ENOENT\)/,
    );
  });
});

/** A logger that keeps its warnings. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger & { warnings: string[] } = {
    warnings,
    error() {},
    warn: (_f, msg) => warnings.push(msg),
    info() {},
    debug() {},
    child: () => logger,
  };
  return logger;
}

const DAY_MS = 86_400_000;
const height = async (sock: string) =>
  ((await callLocalApi(sock, 'chain.status')) as { finalHeight: number }).finalHeight;

describe('the light client across restarts (issue 14, attack 8)', () => {
  it('an agent restarted after a schedule change resumes from its saved state and accepts the next update', async () => {
    const rig = chainViewRig();
    const dataDir = mkdtempSync(join(dir, 'resume-'));
    const file = join(dataDir, 'checkpoint.cbor');
    writeFileSync(file, encodeCheckpoint(checkpointAt(rig.chain, 1)));
    // The schedule the rig elects at block 3 runs from block 8 (round 2).
    expect(rig.chain.activations).toEqual([8]);
    const broker = new MemoryBroker();
    const node = broker.connect('node');
    const start = () =>
      startAgent({
        config: config(file, 10, dataDir),
        logger: silentLogger,
        notifier: noopNotifier,
        openUplink: () => broker.connect('device'),
        nowMs: () => LIGHT_T0 + 60_000,
      });
    const sock = join(dir, 'a10.sock');
    const first = await start();
    try {
      await new Promise((r) => setTimeout(r, 10));
      await node.publish(finalityTopic(), rig.updateBytes(4));
      await waitUntil(async () => (await height(sock)) === 4, 10_000, 'final height 4');
      await node.publish(finalityTopic(), rig.updateBytes(8));
      await waitUntil(async () => (await height(sock)) === 8, 10_000, 'final height 8, new schedule');
    } finally {
      await first.stop();
    }
    const second = await start();
    try {
      // It resumes at 8 under the new schedule, not at the checkpoint's 1 under the old one.
      expect(await height(sock)).toBe(8);
      await new Promise((r) => setTimeout(r, 10));
      await node.publish(finalityTopic(), rig.updateBytes(12));
      await waitUntil(async () => (await height(sock)) === 12, 10_000, 'final height 12 after the restart');
      expect(second.metrics.snapshot().counters['chain.refused']).toBe(0);
    } finally {
      await second.stop();
    }
    expect(existsSync(join(dataDir, LIGHT_STATE_FILE))).toBe(true);
  });

  it('a damaged saved state falls back to the checkpoint with a warning', async () => {
    const rig = chainViewRig();
    const dataDir = mkdtempSync(join(dir, 'damaged-'));
    const file = join(dataDir, 'checkpoint.cbor');
    writeFileSync(file, encodeCheckpoint(checkpointAt(rig.chain, 1)));
    const good = encodeLightState(checkpointAt(rig.chain, 8), LIGHT_T0);
    const damaged = good.slice();
    damaged[damaged.length - 40]! ^= 0xff; // one bit flip in the checkpoint bytes: the checksum fails
    for (const [i, bytes] of [damaged, good.subarray(0, 20), new Uint8Array(0)].entries()) {
      writeFileSync(join(dataDir, LIGHT_STATE_FILE), bytes);
      const logger = recordingLogger();
      const agent = await startAgent({
        config: config(file, 11 + i, dataDir),
        logger,
        notifier: noopNotifier,
        openUplink: () => new MemoryBroker().connect('device'),
        nowMs: () => LIGHT_T0 + 60_000 + i,
      });
      try {
        expect(await height(join(dir, `a${11 + i}.sock`))).toBe(1);
        expect(logger.warnings.join('\n')).toContain('the saved light-client state is damaged; moved aside');
        expect(readdirSync(dataDir)).toContain(`${LIGHT_STATE_FILE}.damaged-${LIGHT_T0 + 60_000 + i}`);
      } finally {
        await agent.stop();
      }
    }
  });

  it('a saved state of another chain is refused', async () => {
    const rig = chainViewRig();
    const dataDir = mkdtempSync(join(dir, 'other-'));
    const file = join(dataDir, 'checkpoint.cbor');
    writeFileSync(file, encodeCheckpoint(checkpointAt(rig.chain, 1)));
    const other = buildLightChain({
      producers: 4,
      electAt: [],
      height: 6,
      roundBlocks: 4,
      chainId: 'qood-other',
    });
    const stateFile = join(dataDir, LIGHT_STATE_FILE);
    writeFileSync(stateFile, encodeLightState(checkpointAt(other, 6), LIGHT_T0));
    const socketPath = join(dir, 'a14.sock');
    const err = await startAgent({
      config: config(file, 14, dataDir),
      logger: silentLogger,
      notifier: noopNotifier,
      openUplink: () => new MemoryBroker().connect('device'),
      nowMs: () => LIGHT_T0 + 60_000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointFileError);
    expect(err).toMatchObject({ code: 'OTHER_CHAIN', file: stateFile });
    expect((err as Error).message).toContain("the saved light-client state is of chain 'qood-other'");
    expect((err as Error).message).toContain("the configured checkpoint of chain 'qood-light'");
    // The state file is left for the operator to judge, and nothing is left listening.
    expect(existsSync(stateFile)).toBe(true);
    expect(existsSync(socketPath)).toBe(false);
  });

  it('an agent whose checkpoint is older than the window starts, collects and stores, serves status, and reports the chain as stale', async () => {
    const rig = chainViewRig();
    const dataDir = mkdtempSync(join(dir, 'stale-'));
    const file = join(dataDir, 'checkpoint.cbor');
    writeFileSync(file, encodeCheckpoint(checkpointAt(rig.chain, 1)));
    // A paired device with a CAN source, a store and a sync: what a car runs.
    pairDevice(dataDir);
    const dbc = loadDbcFile(SIM_DBC_PATH);
    const wire = new CanWire();
    const now = LIGHT_T0 + 31 * DAY_MS;
    const frame: CanFrame = {
      id: 0x1b0,
      extended: false,
      rtr: false,
      fd: false,
      data: dbc.byName('VEHICLE_DYNAMICS')!.encode({ VehicleSpeed: 42.5, Gear: 3 }),
      bus: 'can0',
      wallUs: now * 1000,
      monoUs: 1,
    };
    const broker = new MemoryBroker();
    const node = broker.connect('node');
    const sock = join(dir, 'a15.sock');
    const logger = recordingLogger();
    const agent = await startAgent({
      config: agentConfigSchema.parse({
        device: { vehicleId: 'light-car-1', dataDir, socketPath: sock },
        sources: { can: [{ interface: 'can0', dbc: SIM_DBC_PATH, map: SIM_MAP_PATH }] },
        storage: {},
        sync: { broker: 'mqtt://broker.invalid:1883' },
        chain: { checkpoint: file, maxCheckpointAgeDays: 30 },
      }),
      logger,
      notifier: noopNotifier,
      openCanBus: async (src) => wire.attach(src.interface),
      openUplink: () => broker.connect('device'),
      nowMs: () => now,
    });
    try {
      // It collects and stores.
      wire.attach('sender').send(frame);
      await waitUntil(() => (agent.metrics.snapshot().counters['frames.in'] ?? 0) > 0, 10_000, 'a frame in');
      agent.flush();
      expect(agent.store?.usage().chunks).toBeGreaterThan(0);
      // It serves the owner's status, which says the chain view is stale and what to do.
      const status = (await callLocalApi(sock, 'status')) as { chain: { state: string; message: string } };
      expect(status.chain.state).toBe('stale');
      expect(status.chain.message).toBe(
        `stale (last trusted height 1 at ${new Date(LIGHT_T0 + 500).toISOString()}, older than 30 days; refusing chain-proven grants and orders until a fresh checkpoint is installed: qood node checkpoint --api <a trusted node's URL> --out ${file}, then restart the agent)`,
      );
      expect(await callLocalApi(sock, 'chain.status')).toMatchObject({ state: 'stale', finalHeight: 1 });
      expect(logger.warnings.some((w) => w.startsWith('chain: stale (last trusted height 1'))).toBe(true);
      // What needs the chain is refused: a finality update (and the grant proofs it carries).
      await new Promise((r) => setTimeout(r, 10));
      await node.publish(finalityTopic(), rig.updateBytes(4));
      await waitUntil(
        () => (agent.metrics.snapshot().counters['chain.refused.STALE_CHECKPOINT'] ?? 0) === 1,
        10_000,
        'the update refused as stale',
      );
      expect(await height(sock)).toBe(1);
    } finally {
      await agent.stop();
    }
  });

  it("an agent whose wall clock is behind the chain's latest final block refuses control and says why (issue 14, attack 6)", async () => {
    const rig = chainViewRig();
    const dataDir = mkdtempSync(join(dir, 'clock-'));
    const file = join(dataDir, 'checkpoint.cbor');
    writeFileSync(file, encodeCheckpoint(checkpointAt(rig.chain, 1)));
    pairDevice(dataDir);
    const broker = new MemoryBroker();
    const sock = join(dir, 'a16.sock');
    // The wall clock a minute before the checkpoint's final block: it stepped back (no RTC, a bad
    // NTP answer), and the chain's certified time shows it.
    const agent = await startAgent({
      config: agentConfigSchema.parse({
        device: { vehicleId: 'light-car-1', dataDir, socketPath: sock },
        storage: {},
        sync: { broker: 'mqtt://broker.invalid:1883' },
        chain: { checkpoint: file, maxCheckpointAgeDays: 30 },
        permissions: {},
      }),
      logger: silentLogger,
      notifier: noopNotifier,
      openUplink: () => broker.connect('device'),
      nowMs: () => LIGHT_T0 - 60_000,
    });
    try {
      const status = (await callLocalApi(sock, 'status')) as { clock: { sound: boolean; reasons: string[] } };
      expect(status.clock.sound).toBe(false);
      expect(status.clock.reasons).toEqual([
        expect.stringMatching(/^the wall clock is \d+ ms behind the chain's latest final block$/),
      ]);
    } finally {
      await agent.stop();
    }
  });
});
