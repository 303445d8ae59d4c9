/**
 * The node learns devices from the chain (issue 16), every part real: mosquitto, a single-producer
 * `qood node` process with the ingest and chain roles and NO `ingest.deviceKeys`, and a device
 * (the agent's ChunkSync over MQTT) publishing sealed chunks. Before its owner binds it on chain
 * the node refuses the device's chunks (the device keeps them); the owner then registers the
 * vehicle and binds the device key through the node's HTTP API, and the same running node stores
 * and acknowledges the chunks the device sends again: no restart, no config change. A key the
 * owner never bound stays refused.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openSqliteChunkStore } from '../../../agent/store/index.js';
import { ChunkSync, openMqttUplink } from '../../../agent/sync/index.js';
import {
  chainVehicleId,
  Ed25519Signer,
  encodeSignedTx,
  type SignedTx,
  sha256,
  signTx,
  type TxBodies,
  type TxKind,
  toHex,
  UNIT,
  type UnsignedTx,
} from '../../../chain/index.js';
import { IngestStore } from '../../../node/ingest/index.js';
import { formatGenesis, localGenesis, writeKeyFile } from '../../../node/runtime/index.js';
import { silentLogger } from '../../../process/log.js';
import { Metrics } from '../../../process/metrics.js';
import { makeSignedRecord, TEST_DEVICE_KEY, TEST_NODE_KEY } from '../../support/chunks.js';
import { collectOutput, runQood, startQood, waitExit, waitUntil } from '../../support/cli.js';
import { freePort, Mosquitto } from '../../support/mosquitto.js';
import { describeSystem } from '../../support/system.js';

const CHAIN = 'qood-chain-devices';
const VEHICLE = 'car-1';

describeSystem(
  'qood node serving the devices bound on chain',
  [{ bin: 'mosquitto', pkg: 'mosquitto' }],
  () => {
    let broker: Mosquitto;
    let dir: string;
    beforeAll(async () => {
      broker = await Mosquitto.start();
      dir = mkdtempSync(join(tmpdir(), 'qood-chain-devices-'));
    });
    afterAll(async () => {
      await broker?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('serves a device bound on chain after the node started, without a restart', async () => {
      const owner = new Ed25519Signer(sha256(new TextEncoder().encode('chain-devices/owner')));
      const device = new Ed25519Signer(TEST_DEVICE_KEY);
      const stranger = sha256(new TextEncoder().encode('chain-devices/stranger'));
      // The node key produces the blocks and signs the acks the device trusts.
      const nodeKey = new Ed25519Signer(TEST_NODE_KEY);
      writeKeyFile(join(dir, 'node.key'), TEST_NODE_KEY);
      const g = localGenesis({
        chainId: CHAIN,
        preset: 'minimal',
        producers: [nodeKey],
        whale: new Ed25519Signer(sha256(new TextEncoder().encode('chain-devices/whale'))),
        timeMs: Date.now(),
      });
      writeFileSync(
        join(dir, 'genesis.yaml'),
        formatGenesis({
          ...g,
          accounts: [...g.accounts, { address: toHex(owner.publicKey), qdt: 1000n * UNIT }],
        }),
      );
      const httpPort = await freePort();
      const api = `http://127.0.0.1:${httpPort}`;
      const socket = join(dir, 'node.sock');
      const nodeCfg = join(dir, 'node.yaml');
      mkdirSync(join(dir, 'node-data'));
      writeFileSync(
        nodeCfg,
        [
          'node:',
          `  dataDir: ${join(dir, 'node-data')}`,
          `  socketPath: ${socket}`,
          'ingest:',
          `  broker: ${broker.url}`,
          '  clientId: chain-devices-node',
          'chain:',
          `  keyFile: ${join(dir, 'node.key')}`,
          `  genesisFile: ${join(dir, 'genesis.yaml')}`,
          '  preset: minimal',
          `  http: 127.0.0.1:${httpPort}`,
          '',
        ].join('\n'),
      );
      const node = startQood(['node', '-c', nodeCfg]);
      const out = collectOutput(node);

      const post = async (t: SignedTx) => {
        const r = await fetch(`${api}/tx`, {
          method: 'POST',
          headers: { 'content-type': 'application/cbor' },
          body: Buffer.from(encodeSignedTx(t)),
        });
        expect(r.status, JSON.stringify(await r.clone().json())).toBe(202);
      };
      const ownerTx = <K extends TxKind>(kind: K, nonce: number, body: TxBodies[K]) =>
        signTx(
          { chainId: CHAIN, kind, sender: toHex(owner.publicKey), nonce, fee: 0n, body } as UnsignedTx,
          owner,
        );
      const finalHeight = async () => {
        const r = await fetch(`${api}/status`).catch(() => undefined);
        return r === undefined ? -1 : ((await r.json()) as { final: { height: number } }).final.height;
      };

      // The device: its chunks wait in its store until a trusted ack, sent again every second.
      const store = openSqliteChunkStore({ path: join(dir, 'device.db') });
      const uplink = openMqttUplink({ url: broker.url, clientId: VEHICLE });
      const sync = new ChunkSync({
        store,
        uplink,
        vehicleId: VEHICLE,
        device,
        nodeKeys: [nodeKey.publicKey],
        ackTimeoutMs: 1000,
        metrics: new Metrics(),
        logger: silentLogger,
      });
      // A key the owner never binds, publishing as the same vehicle.
      const rogueStore = openSqliteChunkStore({ path: join(dir, 'rogue.db') });
      const rogueUplink = openMqttUplink({ url: broker.url, clientId: `${VEHICLE}-rogue` });
      const rogue = new ChunkSync({
        store: rogueStore,
        uplink: rogueUplink,
        vehicleId: VEHICLE,
        device: new Ed25519Signer(stranger),
        nodeKeys: [nodeKey.publicKey],
        ackTimeoutMs: 1000,
        metrics: new Metrics(),
        logger: silentLogger,
      });
      const records = [...Array(20).keys()].map((q) => makeSignedRecord('can0/ENGINE', q, { size: 256 }));
      try {
        await waitUntil(
          () => out.stdout().includes('device link started'),
          20_000,
          'the node with its ingest and chain roles',
        );
        await waitUntil(async () => (await finalHeight()) >= 1, 15_000, 'a final block', 100);

        for (const r of records) store.put(r);
        sync.start();
        await waitUntil(
          () => out.stdout().includes(`no device key bound to vehicle '${VEHICLE}'`),
          15_000,
          'the unbound device refused',
        );
        expect(out.stdout()).toMatch(/vehicle not registered/);
        expect(store.usage().chunks).toBe(20);

        // The owner registers the vehicle and binds the device through the node's API.
        await post(ownerTx('registerVehicle', 0, { vehicle: chainVehicleId(VEHICLE) }));
        await post(
          ownerTx('bindDevice', 1, { vehicle: chainVehicleId(VEHICLE), device: toHex(device.publicKey) }),
        );
        await waitUntil(
          () => store.usage().chunks === 0,
          30_000,
          'the bound device’s chunks acknowledged',
          100,
        );

        // The rogue key signs chunks for the same vehicle: refused, kept on its side.
        rogueStore.put(makeSignedRecord('gnss', 0, { vehicleId: VEHICLE, secretKey: stranger }));
        rogue.start();
        await waitUntil(
          () =>
            /signed by device key [0-9a-f]{64}, which is not bound to vehicle 'car-1' \(chain at final height \d+\)/.test(
              out.stdout(),
            ),
          15_000,
          'the rogue key refused',
        );
        expect(rogueStore.usage().chunks).toBe(1);

        const status = runQood(['status', '--socket', socket, '--json']);
        expect(status.status).toBe(0);
        const counters = JSON.parse(status.stdout).counters as Record<string, number>;
        expect(counters['ingest.stored']).toBe(20);
      } finally {
        sync.stop();
        rogue.stop();
        await uplink.close();
        await rogueUplink.close();
        store.close();
        rogueStore.close();
        node.kill('SIGTERM');
      }
      expect((await waitExit(node, 15_000)).code).toBe(0);
      const ingest = new IngestStore({ path: join(dir, 'node-data', 'ingest.db') });
      expect(ingest.rows().map((r) => r.seq)).toEqual([...Array(20).keys()]);
      ingest.close();
    });
  },
);
