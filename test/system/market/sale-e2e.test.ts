/**
 * The whole story through a real mosquitto and a real `qood node` process (one producer, with the
 * ingest role, so it is the TSP's storage node and device bridge): the simulated car on an
 * in-memory CAN bus -> the real agent (decode, collect, chunk, seal, SQLite store, MQTT sync, its
 * light client following the node's finality updates) -> mosquitto -> the node stores the chunks
 * and the descriptor and puts the device's anchor on chain -> a buyer (the market TypeScript API)
 * lists the anchored descriptor and orders it -> the node announces the order to the device, which
 * checks it with its light client and fills it with the keys wrapped to the buyer -> the buyer
 * fetches, verifies and decrypts: exactly the samples the agent's collection kept; and the owner
 * and the OEM got the price split by their agreement.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Collector } from '../../../agent/collect/index.js';
import { collectSchema } from '../../../agent/config/collect.js';
import { agentConfigSchema } from '../../../agent/config/index.js';
import { CompiledDbc, parseDbc } from '../../../agent/decode/can/index.js';
import type { Sample } from '../../../agent/decode/sample.js';
import { silentLogger } from '../../../agent/log.js';
import { type RunningAgent, startAgent } from '../../../agent/main.js';
import { DEVICE_KEY_FILE } from '../../../agent/seal/index.js';
import { noopNotifier } from '../../../agent/service.js';
import {
  chainVehicleId,
  createBinding,
  type Ed25519Signer,
  encodeSignedTx,
  fromHex,
  type TxBodies,
  type TxKind,
  toHex,
  UNIT,
} from '../../../chain/index.js';
import { formatGenesis, writeKeyFile } from '../../../chain/node/runtime/index.js';
import { CanWire } from '../../../firmware-bridge/index.js';
import { MarketClient } from '../../../market/index.js';
import {
  readSimDbc,
  SIM_DBC_PATH,
  SIM_MAP_PATH,
  SimFrameScheduler,
} from '../../../simulators/vehicle/can-frames.js';
import { VehicleModel } from '../../../simulators/vehicle/model.js';
import { collectOutput, startQood, waitExit, waitUntil } from '../../support/cli.js';
import {
  MARKET_VEHICLE,
  marketAgreement,
  marketAgreementId,
  marketGenesis,
  marketParties,
  marketSecret,
  marketTx,
} from '../../support/market.js';
import { freePort, Mosquitto } from '../../support/mosquitto.js';
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
    let node: ChildProcess;
    let nodeOut: ReturnType<typeof collectOutput>;
    let api: string;
    let agent: RunningAgent | undefined;
    const nonces = new Map<string, number>();

    async function submit<K extends TxKind>(
      signer: Ed25519Signer,
      kind: K,
      body: TxBodies[K],
    ): Promise<void> {
      const sender = toHex(signer.publicKey);
      const nonce = nonces.get(sender) ?? 0;
      nonces.set(sender, nonce + 1);
      const r = await fetch(`${api}/tx`, {
        method: 'POST',
        headers: { 'content-type': 'application/cbor' },
        body: encodeSignedTx(marketTx(CHAIN, signer, kind, body, nonce)),
      });
      expect(r.status, `${kind}: ${await r.clone().text()}`).toBe(202);
    }
    const finalHas = (key: string) =>
      waitUntil(
        async () =>
          ((await (await fetch(`${api}/state/${key}`)).json()) as { value: unknown }).value !== null,
        15_000,
        key,
        100,
      );

    beforeAll(async () => {
      broker = await Mosquitto.start();
      dir = mkdtempSync(join(tmpdir(), 'qood-sale-'));
      mkdirSync(join(dir, 'node'));
      mkdirSync(join(dir, 'car'));
      const [p2p, http] = [await freePort(), await freePort()];
      api = `http://127.0.0.1:${http}`;
      writeKeyFile(join(dir, 'node', 'node.key'), marketSecret('producer'));
      writeFileSync(join(dir, 'node', 'genesis.yaml'), formatGenesis(marketGenesis(CHAIN, Date.now() + 500)));
      writeFileSync(
        join(dir, 'node', 'node.yaml'),
        stringify({
          node: { dataDir: join(dir, 'node'), socketPath: join(dir, 'node', 'node.sock') },
          log: { level: 'info' },
          ingest: {
            broker: broker.url,
            clientId: 'storage-node',
            deviceKeys: { [MARKET_VEHICLE]: toHex(marketParties.device.publicKey) },
          },
          chain: {
            keyFile: join(dir, 'node', 'node.key'),
            genesisFile: join(dir, 'node', 'genesis.yaml'),
            preset: 'minimal',
            listen: `127.0.0.1:${p2p}`,
            http: `127.0.0.1:${http}`,
          },
        }),
      );
      node = startQood(['node', '-c', join(dir, 'node', 'node.yaml')]);
      nodeOut = collectOutput(node);
      await waitUntil(
        async () => {
          try {
            return (
              ((await (await fetch(`${api}/status`)).json()) as { final: { height: number } }).final.height >=
              1
            );
          } catch {
            return false;
          }
        },
        15_000,
        'the node to finalise a block',
        100,
      );
    });

    afterAll(async () => {
      await agent?.stop();
      if (node !== undefined && node.exitCode === null) {
        node.kill('SIGTERM');
        await waitExit(node, 10_000).catch(() => undefined);
      }
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

      let simMs = Date.now() - 60_000;
      const wire = new CanWire({ clock: { wallUs: () => simMs * 1000, monoUs: () => simMs * 1000 } });
      const ecu = wire.attach('sim0');
      const decoded: Sample[] = [];
      agent = await startAgent({
        config: agentConfigSchema.parse({
          device: { vehicleId: MARKET_VEHICLE, dataDir: car, socketPath: join(car, 'agent.sock') },
          sources: { can: [{ interface: 'sim0', dbc: SIM_DBC_PATH, map: SIM_MAP_PATH }] },
          sync: { broker: broker.url, ackTimeoutMs: 3000 },
          chain: { checkpoint: join(car, 'checkpoint.bin'), chainId: CHAIN },
          collect: COLLECT,
        }),
        logger: silentLogger,
        notifier: noopNotifier,
        openCanBus: async (src) => wire.attach(src.interface),
        nowMs: () => simMs,
        onSamples: (s) => decoded.push(...s),
      });
      const running = agent;
      await waitUntil(
        () => running.metrics.counter('chain.updates') > 0,
        15_000,
        'the agent to follow finality',
      );

      // Thirty simulated seconds of driving, 20x faster than real time; then one batch is cut.
      const model = new VehicleModel({ seed: 7 });
      const dbc = new CompiledDbc(parseDbc(readSimDbc(), SIM_DBC_PATH));
      const scheduler = new SimFrameScheduler({
        encoder: {
          encode: (name, values) => {
            const m = dbc.byName(name)!;
            return { id: m.message.id, extended: m.message.extended, data: m.encode(values) };
          },
        },
      });
      let t = 0;
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          for (let i = 0; i < 20 && t < 30_000; i++) {
            t += 10;
            simMs += 10;
            for (const f of scheduler.framesDue(t, model.step(10)))
              void ecu.send({ id: f.id, extended: f.extended, data: f.data });
          }
          if (t >= 30_000) {
            clearInterval(timer);
            resolve();
          }
        }, 10);
      });
      simMs += 5_000;
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
      expect(nodeOut.stdout() + nodeOut.stderr()).not.toMatch(/"level":50/);
    }, 180_000);
  },
);
