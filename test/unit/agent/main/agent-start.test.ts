/**
 * How the agent's start is put together: the sink exists before any source starts, the device's own
 * adapters are picked in one place unless the caller gives its own, and what this build or a config
 * that skipped the schema cannot do stops the start with a typed AgentError.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentConfigSchema, permissionsSchema } from '../../../../agent/config/index.js';
import { loadDbcFile } from '../../../../agent/decode/can/index.js';
import { AgentError } from '../../../../agent/errors.js';
import { pickAdapters } from '../../../../agent/main/adapters.js';
import { openSources } from '../../../../agent/main/open-sources.js';
import { startAgent } from '../../../../agent/main/start-agent.js';
import { Teardown } from '../../../../agent/main/teardown.js';
import { loadOrCreateDeviceKey } from '../../../../agent/seal/index.js';
import {
  createBinding,
  ownerIdentity,
  type Sample,
  seedFromMnemonic,
  vehicleDataRoot,
} from '../../../../chain/index.js';
import { type CanBus, type CanFrame, CanWire } from '../../../../firmware-bridge/index.js';
import { silentLogger } from '../../../../process/log.js';
import { Metrics } from '../../../../process/metrics.js';
import { noopNotifier } from '../../../../process/service.js';
import { SIM_DBC_PATH, SIM_MAP_PATH } from '../../../../simulators/vehicle/can-frames.js';
import { VECTOR_MNEMONIC } from '../../../vectors/generate-data.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-agent-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const device = (dataDir: string) => ({
  vehicleId: 'car-start',
  dataDir,
  socketPath: join(dir, `s${n++}.sock`),
});

/** A data folder with a device key and the owner's binding for `car-start`. */
function pairedDataDir(): string {
  const dataDir = mkdtempSync(join(dir, 'paired-'));
  const seed = seedFromMnemonic(VECTOR_MNEMONIC);
  const key = loadOrCreateDeviceKey(dataDir);
  writeFileSync(
    join(dataDir, 'binding.cbor'),
    createBinding({
      vehicleId: 'car-start',
      devicePublicKey: key.publicKey,
      ownerSecretKey: ownerIdentity(seed).secretKey,
      dataRoot: vehicleDataRoot(seed, 'car-start'),
      epochLengthS: 600,
      issuedMs: Date.now(),
    }),
  );
  return dataDir;
}

/** A bus whose receiver already holds `frame`: it is delivered the moment a source subscribes. */
function busWithQueuedFrame(bus: CanBus, frame: CanFrame): CanBus {
  return {
    name: bus.name,
    onFrame(listener) {
      const off = bus.onFrame(listener);
      listener(frame);
      return off;
    },
    onEvent: (l) => bus.onEvent(l),
    send: (f) => bus.send(f),
    setFilters: (f) => bus.setFilters(f),
    stats: () => bus.stats(),
    close: () => bus.close(),
  };
}

describe('agent start order', () => {
  it('builds the data path before the sources start: the first frame a source sees is stored', async () => {
    const dbc = loadDbcFile(SIM_DBC_PATH);
    const first: CanFrame = {
      id: 0x1b0,
      extended: false,
      rtr: false,
      fd: false,
      data: dbc.byName('VEHICLE_DYNAMICS')!.encode({ VehicleSpeed: 42.5, Gear: 3 }),
      bus: 'can0',
      wallUs: Date.now() * 1000,
      monoUs: 1,
    };
    const wire = new CanWire();
    const decoded: Sample[] = [];
    let sealedSamples = 0;
    const agent = await startAgent({
      config: agentConfigSchema.parse({
        device: device(pairedDataDir()),
        sources: { can: [{ interface: 'can0', dbc: SIM_DBC_PATH, map: SIM_MAP_PATH }] },
        storage: {},
      }),
      logger: silentLogger,
      notifier: noopNotifier,
      openCanBus: async (src) => busWithQueuedFrame(wire.attach(src.interface), first),
      onSamples: (s) => decoded.push(...s),
      onChunkStored: (c) => {
        sealedSamples += c.sampleCount;
      },
    });
    try {
      expect(decoded.find((s) => s.path === 'Vehicle.Speed')?.value).toBe(42.5);
      agent.flush();
      // Every decoded sample of that first frame went into a sealed chunk (each is a first value).
      expect(sealedSamples).toBe(decoded.length);
      expect(agent.store?.usage().chunks).toBeGreaterThan(0);
    } finally {
      await agent.stop();
    }
  });
});

describe('adapters', () => {
  const config = agentConfigSchema.parse({ device: device(dir) });

  it("keeps the caller's adapters and fills the rest with the device's own", async () => {
    const openCanBus = async () => new CanWire().attach('x');
    const a = pickAdapters(config, { openCanBus }, 'linux');
    expect(a.openCanBus).toBe(openCanBus);
    expect(typeof a.openSerial).toBe('function');
    expect(typeof a.openGnss).toBe('function');
    expect(pickAdapters(config, {}, 'linux').openCanBus).toBeTypeOf('function');
  });

  it('has no CAN driver off Linux: a CAN source stops the start with AgentError NO_CAN_DRIVER', async () => {
    const withCan = agentConfigSchema.parse({
      device: device(dir),
      sources: { can: [{ interface: 'can0', dbc: SIM_DBC_PATH }] },
    });
    const adapters = pickAdapters(withCan, {}, 'darwin');
    expect(adapters.openCanBus).toBeUndefined();
    const teardown = new Teardown();
    const err = await openSources({
      config: withCan,
      adapters,
      metrics: new Metrics(),
      logger: silentLogger,
      teardown,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect(err).toMatchObject({
      code: 'NO_CAN_DRIVER',
      fields: { field: 'sources.can', interface: 'can0' },
      message: 'CAN sources are configured but this build has no CAN driver to open them',
    });
    await teardown.run();
  });
});

describe('a config that did not come through the schema', () => {
  it('permissions without a store: AgentError CONFIG_RULE naming the field, and nothing left open', async () => {
    const socketPath = join(dir, 'rule.sock');
    const config = {
      ...agentConfigSchema.parse({ device: { ...device(dir), socketPath } }),
      permissions: permissionsSchema.parse({}),
    };
    const err = await startAgent({ config, logger: silentLogger, notifier: noopNotifier }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AgentError);
    expect(err).toMatchObject({
      code: 'CONFIG_RULE',
      fields: { field: 'permissions' },
      message: 'permissions need the store: add a `storage` (or `sync`) section to the config',
    });
    expect(existsSync(socketPath)).toBe(false);
  });
});
