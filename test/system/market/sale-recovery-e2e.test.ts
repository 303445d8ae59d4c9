/**
 * A paid sale never loses its keys, with the real parts: the agent fills a buy order through a
 * real broker and storage node and is stopped before it reveals; while it is down the fill becomes
 * final (the buyer has paid), its `agent.db` is found corrupt and moved aside, and the node is
 * killed and started again. The agent, on an empty store, hears the order from the restarted node
 * (which finds filled-but-unrevealed orders in its final chain), makes the same key bundle again,
 * checks it against the fill's commitment and reveals it; the buyer decrypts exactly the samples
 * that went in.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Collector } from '../../../agent/collect/index.js';
import { collectSchema } from '../../../agent/config/collect.js';
import { agentConfigSchema } from '../../../agent/config/index.js';
import { type RunningAgent, startAgent } from '../../../agent/main/start-agent.js';
import { DEVICE_KEY_FILE } from '../../../agent/seal/index.js';
import { chainVehicleId, createBinding, fromHex, type Sample, toHex, UNIT } from '../../../chain/index.js';
import { MarketClient } from '../../../market/index.js';
import { silentLogger } from '../../../process/log.js';
import { noopNotifier } from '../../../process/service.js';
import { SIM_DBC_PATH, SIM_MAP_PATH } from '../../../simulators/vehicle/can-frames.js';
import { waitUntil } from '../../support/cli.js';
import {
  MARKET_VEHICLE,
  marketAgreement,
  marketAgreementId,
  marketParties,
  marketSecret,
} from '../../support/market.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { SimCar } from '../../support/sim-car.js';
import { StorageNodeProcess } from '../../support/storage-node.js';
import { describeSystem } from '../../support/system.js';

const CHAIN = 'qood-sale-recovery';
const COLLECT = {
  schemes: [
    { name: 'drive', kind: 'periodic', periodMs: 500, signals: ['Vehicle.Speed', 'Vehicle.Powertrain.*'] },
    { name: 'body', kind: 'on-change', deadband: 1, signals: ['Vehicle.*'] },
  ],
  chunk: { maxSamples: 300, maxAgeMs: 2000 },
};

describeSystem(
  'a sale whose device store is recreated, behind a restarted node, between fill and reveal',
  [{ bin: 'mosquitto', pkg: 'mosquitto' }],
  () => {
    let broker: Mosquitto;
    let dir: string;
    let storage: StorageNodeProcess;
    let api: string;
    let agent: RunningAgent | undefined;
    const submit: StorageNodeProcess['submit'] = (signer, kind, body) => storage.submit(signer, kind, body);
    const finalHas = (key: string) => storage.finalHas(key);

    beforeAll(async () => {
      broker = await Mosquitto.start();
      dir = mkdtempSync(join(tmpdir(), 'qood-sale-recovery-'));
      mkdirSync(join(dir, 'car'));
      storage = await StorageNodeProcess.start({
        brokerUrl: broker.url,
        dir: join(dir, 'node'),
        chainId: CHAIN,
      });
      api = storage.api;
    });

    afterAll(async () => {
      await agent?.stop();
      await storage?.stop();
      await broker?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('a device whose store is recreated between fill and reveal still reveals the committed keys, after a node restart', async () => {
      const { owner, oem, device } = marketParties;
      const vehicle = chainVehicleId(MARKET_VEHICLE);
      // The owner puts the vehicle, its device and the agreement with the OEM on chain.
      await submit(owner, 'registerVehicle', { vehicle });
      await finalHas(`veh/${vehicle}`);
      await submit(owner, 'bindDevice', { vehicle, device: toHex(device.publicKey) });
      await submit(owner, 'agreement', marketAgreement());
      await finalHas(`agr/${marketAgreementId()}`);

      // The device: its key, the owner's binding (naming the OEM: there is an agreement to anchor
      // under), and a checkpoint from the node it trusts.
      const car = join(dir, 'car');
      writeFileSync(join(car, DEVICE_KEY_FILE), `${toHex(marketSecret('device'))}\n`, { mode: 0o600 });
      writeFileSync(
        join(car, 'binding.cbor'),
        createBinding({
          vehicleId: MARKET_VEHICLE,
          devicePublicKey: device.publicKey,
          ownerSecretKey: marketSecret('owner'),
          dataRoot: marketParties.dataRoot,
          oemPublicKey: oem.publicKey,
          epochLengthS: 600,
          issuedMs: Date.now(),
        }),
      );
      const cp = (await (await fetch(`${api}/checkpoint`)).json()) as { bytes: string };
      writeFileSync(join(car, 'checkpoint.bin'), fromHex(cp.bytes));

      const sim = new SimCar({ startMs: Date.now() - 60_000, seed: 7 });
      const decoded: Sample[] = [];
      const launch = () =>
        startAgent({
          config: agentConfigSchema.parse({
            device: { vehicleId: MARKET_VEHICLE, dataDir: car, socketPath: join(car, 'agent.sock') },
            sources: { can: [{ interface: 'sim0', dbc: SIM_DBC_PATH, map: SIM_MAP_PATH }] },
            // The storage node signs its acks with its node key (the producer's here).
            sync: {
              broker: broker.url,
              ackTimeoutMs: 3000,
              nodeKeys: [toHex(marketParties.producer.publicKey)],
            },
            chain: { checkpoint: join(car, 'checkpoint.bin'), chainId: CHAIN },
            collect: COLLECT,
          }),
          logger: silentLogger,
          notifier: noopNotifier,
          openCanBus: sim.openCanBus,
          nowMs: sim.nowMs,
          onSamples: (s) => decoded.push(...s),
        });
      agent = await launch();
      const running = agent;
      await waitUntil(
        () => running.metrics.counter('chain.updates') > 0,
        15_000,
        'the agent to follow finality',
      );

      // Thirty simulated seconds of driving, 20x faster than real time; then one batch is cut.
      await sim.drive(30_000);
      sim.simMs += 5_000;
      const expected: Sample[] = [];
      new Collector({
        config: collectSchema.parse(COLLECT),
        sink: (_s, sample) => expected.push(sample),
      }).add(decoded);
      running.flush(); // closes the open chunks and cuts the batch: one descriptor, one anchor queued
      expect(running.metrics.counter('descriptors.made')).toBe(1);
      await waitUntil(
        () => running.store!.usage().chunks === 0 && running.store!.pendingTxs(1).length === 0,
        20_000,
        'chunks, descriptor and anchor synced and acknowledged',
      );

      // The buyer finds the anchored descriptor and orders it.
      const market = new MarketClient({ nodeUrl: api, secretKey: marketSecret('buyer') });
      let anchor: string | null = null;
      await waitUntil(
        async () => {
          const page = await market.listDescriptors({ vehicle: MARKET_VEHICLE });
          anchor = page.descriptors[0]?.anchor ?? null;
          return anchor !== null;
        },
        20_000,
        'the device anchor to be final and indexed',
        200,
      );
      const price = 20n * UNIT + 3n;
      const placed = await market.order(anchor!, price, 600);
      // The device fills it. It is stopped the moment the node has taken the fill, before the fill
      // can be final, so before any reveal.
      await waitUntil(
        () => running.metrics.counter('sales.filled') === 1 && running.store!.pendingTxs(1).length === 0,
        30_000,
        'the fill to be queued and taken by the node',
        5,
      );
      await running.stop();
      agent = undefined;
      expect(running.metrics.counter('sales.revealed')).toBe(0);
      // The buyer's payment becomes final; the keys are owed.
      await waitUntil(
        async () => ((await market.orderStatus(placed.orderId)).order?.filledHeight ?? 0) > 0,
        30_000,
        'the fill to be final',
        200,
      );
      expect((await market.orderStatus(placed.orderId)).order?.delivery).toHaveLength(0);
      // agent.db is found damaged: the agent moves it aside and starts with an empty store, which
      // holds neither the mark of the fill nor the bundle kept for the reveal.
      writeFileSync(join(car, 'agent.db'), Buffer.alloc(16_384, 0x5a));
      const again = await launch();
      agent = again;
      expect(
        readdirSync(car).some((f) => f.startsWith('agent.db.corrupt-') || f.startsWith('agent.db.invalid-')),
      ).toBe(true);
      expect(existsSync(join(car, 'agent.db'))).toBe(true);
      await waitUntil(
        () => again.metrics.counter('chain.updates') > 0,
        15_000,
        'the agent to follow finality',
      );
      // The node is killed and started again: it no longer has the order in memory.
      await storage.restartAfterKill();
      await waitUntil(
        async () =>
          // The node is down for a moment while it restarts.
          ((await market.orderStatus(placed.orderId).catch(() => undefined))?.order?.delivery.length ?? 0) >
          0,
        150_000,
        'the keys to be revealed on chain',
        500,
      );
      expect(again.metrics.counter('sales.revealed')).toBeGreaterThanOrEqual(1);
      expect(again.metrics.counter('sales.filled')).toBe(0);

      const purchase = await market.verifyAndDecrypt(placed.orderId);
      const key = (s: { tUs: number; path: string; value: unknown }) =>
        `${s.tUs} ${s.path} ${String(s.value)}`;
      expect(purchase.samples.map(key).sort()).toEqual(expected.map(key).sort());
      expect(purchase.vehicleId).toBe(MARKET_VEHICLE);
    }, 240_000);
  },
);
