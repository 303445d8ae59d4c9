import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

const CHAIN = 'qood-sale-e2e';
const COLLECT = {
  schemes: [
    { name: 'drive', kind: 'periodic', periodMs: 500, signals: ['Vehicle.Speed', 'Vehicle.Powertrain.*'] },
    { name: 'body', kind: 'on-change', deadband: 1, signals: ['Vehicle.*'] },
  ],
  chunk: { maxSamples: 300, maxAgeMs: 2000 },
};

describeSystem(
  'a sale end to end: car, agent, broker, node, buyer',
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
      dir = mkdtempSync(join(tmpdir(), 'qood-sale-'));
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

    it('the buyer reads exactly the samples that went in, and the owner and OEM are paid by their agreement', async () => {
      const { owner, oem, device, buyer } = marketParties;
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
      agent = await startAgent({
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
      // The device fills it by itself, once its light client has proven the order.
      await market.waitForFill(placed.orderId, 30_000);
      expect(running.metrics.counter('sales.filled')).toBe(1);
      expect(running.metrics.counter('sales.refused')).toBe(0);

      const purchase = await market.verifyAndDecrypt(placed.orderId);
      const key = (s: { tUs: number; path: string; value: unknown }) =>
        `${s.tUs} ${s.path} ${String(s.value)}`;
      expect(purchase.samples.map(key).sort()).toEqual(expected.map(key).sort());
      expect(expected.length).toBeGreaterThan(300);
      expect(purchase.vehicleId).toBe(MARKET_VEHICLE);

      // The price left the buyer's escrow and was split by the agreement: 70% to the owner (with the
      // rounding remainder), 30% to the OEM; neither held QDD before.
      const qdd = async (party: string) =>
        BigInt(
          ((await (await fetch(`${api}/state/acct/${party}`)).json()) as { decoded: { qdd: string } }).decoded
            .qdd,
        );
      const ownerShare = price - (price * 3000n) / 10_000n;
      const oemShare = (price * 3000n) / 10_000n;
      expect(await qdd(toHex(owner.publicKey))).toBe(ownerShare);
      expect(await qdd(toHex(oem.publicKey))).toBe(oemShare);
      expect(await qdd(toHex(buyer.publicKey))).toBe(1000n * UNIT - price);
      const split = await market.split(placed.orderId);
      expect(split.shares.map((s) => [s.role, s.bps, s.amount])).toEqual([
        ['owner', 7000, ownerShare],
        ['oem', 3000, oemShare],
      ]);
      expect(storage.out.stdout() + storage.out.stderr()).not.toMatch(/"level":50/);
    }, 180_000);
  },
);
