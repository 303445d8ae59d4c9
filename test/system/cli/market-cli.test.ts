import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openSqliteChunkStore } from '../../../agent/store/index.js';
import { ChunkSync, openMqttUplink } from '../../../agent/sync/index.js';
import { chainVehicleId, toHex, UNIT } from '../../../chain/index.js';
import { silentLogger } from '../../../process/log.js';
import { Metrics } from '../../../process/metrics.js';
import { runQood, waitUntil } from '../../support/cli.js';
import {
  anchorBody,
  MARKET_VEHICLE,
  marketAgreement,
  marketParties,
  saleBodies,
  sealMarketBatch,
} from '../../support/market.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { StorageNodeProcess } from '../../support/storage-node.js';
import { describeSystem } from '../../support/system.js';

const CHAIN = 'qood-market-sys';

describeSystem('qood market: a sale through a storage node', [{ bin: 'mosquitto', pkg: 'mosquitto' }], () => {
  let broker: Mosquitto;
  let dir: string;
  let storage: StorageNodeProcess;
  let api: string;
  const submit: StorageNodeProcess['submit'] = (signer, kind, body) => storage.submit(signer, kind, body);
  const state = (key: string) => storage.state(key);
  const finalHas = (key: string) => storage.finalHas(key);

  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'qood-market-sys-'));
    storage = await StorageNodeProcess.start({ brokerUrl: broker.url, dir, chainId: CHAIN });
    api = storage.api;
  });

  afterAll(async () => {
    await storage?.stop();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists, buys, fetches exactly the samples that went in, and splits the price as the balances show', async () => {
    const { whale, owner, oem, device } = marketParties;
    const vehicle = chainVehicleId(MARKET_VEHICLE);
    const sold = sealMarketBatch({ coarseLocation: '47.4,8.5', chunksPerStream: 4 });

    // The buyer makes an account key; the issuer funds it with QDD (and QDT for free transactions).
    const keygen = runQood(['market', 'keygen', '--out', join(dir, 'buyer.key')]);
    expect(keygen.status, keygen.stderr).toBe(0);
    const buyer = keygen.stdout.trim();
    expect(buyer).toMatch(/^[0-9a-f]{64}$/);
    await submit(whale, 'issue', { to: buyer, amount: 100n * UNIT });
    await submit(whale, 'transfer', { to: buyer, token: 'QDT', amount: 10n * UNIT, memo: new Uint8Array() });
    // The owner registers the vehicle, binds the device and records the agreement with the OEM.
    await submit(owner, 'registerVehicle', { vehicle });
    await finalHas(`veh/${vehicle}`);
    await submit(owner, 'bindDevice', { vehicle, device: toHex(device.publicKey) });
    await submit(owner, 'agreement', marketAgreement());
    await finalHas(`agr/${anchorBody(sold.batch).agreement}`);

    // The device syncs its batch through mosquitto into the node's ingest database.
    const store = openSqliteChunkStore({ path: join(dir, 'device.db') });
    const uplink = openMqttUplink({ url: broker.url, clientId: MARKET_VEHICLE });
    const sync = new ChunkSync({
      store,
      uplink,
      vehicleId: MARKET_VEHICLE,
      // The storage node signs its acks with its node key (the producer's here).
      device,
      nodeKeys: [marketParties.producer.publicKey],
      metrics: new Metrics(),
      logger: silentLogger,
    });
    try {
      for (const c of sold.chunks) store.put(c);
      store.putDescriptor(sold.batch.id, sold.batch.bytes, Date.now());
      sync.start();
      await waitUntil(
        () => store.usage().chunks === 0 && store.pendingDescriptors(1).length === 0,
        15_000,
        'the node to acknowledge the chunks and the descriptor',
      );
    } finally {
      sync.stop();
      await uplink.close();
      store.close();
    }
    const before = runQood(['market', 'list', '--node', api, '--json']);
    expect(JSON.parse(before.stdout).descriptors).toMatchObject([{ id: sold.batch.id, anchor: null }]);

    // The device anchors the batch's root; the listing shows the chain id to order by.
    const anchor = toHex((await submit(device, 'descriptor', anchorBody(sold.batch))).id);
    let listed = '';
    await waitUntil(
      () => {
        listed = runQood(['market', 'list', '--node', api, '--location', '47.4']).stdout;
        return listed.includes(anchor);
      },
      15_000,
      'the listing to show the anchor',
      200,
    );
    expect(listed).toContain(`descriptor ${sold.batch.id}`);
    expect(listed).toContain('8 chunks');

    // The buyer orders at 12.5 QDD; the owner fills with the keys wrapped to the buyer.
    const key = join(dir, 'buyer.key');
    const buy = runQood([
      'market',
      'buy',
      '--node',
      api,
      '--key',
      key,
      '--descriptor',
      anchor,
      '--price',
      '12.5',
    ]);
    expect(buy.status, buy.stderr).toBe(0);
    const orderId = /^order ([0-9a-f]{64})$/m.exec(buy.stdout)![1]!;
    await finalHas(`order/${orderId}`);
    const open = runQood(['market', 'status', '--node', api, '--order', orderId]);
    expect(open.stdout).toMatch(/buy 12\.5 QDD .* open;/);
    const early = runQood([
      'market',
      'fetch',
      '--node',
      api,
      '--key',
      key,
      '--order',
      orderId,
      '--out',
      join(dir, 'x'),
    ]);
    expect(early.status).toBe(1);
    expect(early.stderr).toMatch(/NOT_FILLED/);
    // Commit-then-reveal: the fill (a commitment) pays; once it is final, the reveal delivers the keys.
    const sale = saleBodies(sold.batch, orderId, Buffer.from(buyer, 'hex'));
    await submit(owner, 'fill', sale.fill);
    await waitUntil(
      () =>
        runQood(['market', 'status', '--node', api, '--order', orderId]).stdout.includes('filled at height'),
      15_000,
      'the fill to be final',
      200,
    );
    await submit(owner, 'reveal', sale.reveal);
    await waitUntil(
      () => runQood(['market', 'status', '--node', api, '--order', orderId]).stdout.includes('keys revealed'),
      15_000,
      'the reveal to be final',
      200,
    );

    // Fetch: checked and decrypted, exactly the samples that went in.
    const outFile = join(dir, 'samples.jsonl');
    const got = runQood([
      'market',
      'fetch',
      '--node',
      api,
      '--key',
      key,
      '--order',
      orderId,
      '--out',
      outFile,
    ]);
    expect(got.status, got.stderr).toBe(0);
    expect(got.stdout).toContain(`OK order ${orderId}: 8 chunks, 160 samples of vehicle car-1`);
    expect(got.stdout).toContain('Vehicle.Speed: 80 samples');
    expect(got.stdout).toMatch(/bound to vehicle 'car-1' on chain/);
    const lines = readFileSync(outFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const sort = (xs: { path: string; tUs: number }[]) =>
      [...xs].sort((a, b) => (a.path === b.path ? a.tUs - b.tUs : a.path < b.path ? -1 : 1));
    expect(sort(lines)).toEqual(sort([...sold.samples]));

    // Someone else's key opens nothing: refused (by the client's check of the order, before the node's).
    const other = join(dir, 'other.key');
    runQood(['market', 'keygen', '--out', other]);
    const stolen = runQood([
      'market',
      'fetch',
      '--node',
      api,
      '--key',
      other,
      '--order',
      orderId,
      '--out',
      outFile,
    ]);
    expect(stolen.status).toBe(1);
    expect(stolen.stderr).toMatch(
      /^qood market fetch: NOT_THE_BUYER: order [0-9a-f]{16}\.\.\. is not a buy order of/m,
    );

    // The split: 70 % to the owner, 30 % to the OEM, as their balances on chain show.
    const split = runQood(['market', 'split', '--node', api, '--order', orderId, '--json']);
    expect(split.status, split.stderr).toBe(0);
    const s = JSON.parse(split.stdout) as {
      shares: { role: string; party: string; amount: string; balance: string }[];
    };
    expect(s.shares.map((x) => [x.role, x.amount])).toEqual([
      ['owner', String(8_750_000n)],
      ['oem', String(3_750_000n)],
    ]);
    for (const x of s.shares) expect((await state(`acct/${x.party}`)).decoded?.qdd).toBe(x.amount);
    expect((await state(`acct/${toHex(oem.publicKey)}`)).decoded?.qdd).toBe('3750000');
    expect((await state(`acct/${buyer}`)).decoded?.qdd).toBe(String(87_500_000n));
    const text = runQood(['market', 'split', '--node', api, '--order', orderId]).stdout;
    expect(text).toMatch(/owner .* 7000 bps {2}8\.75 QDD/);
    expect(storage.out.stdout()).toMatch(/descriptor anchors indexed/);

    // Killed and started again, the node resumes its anchor index from the cursor: the listing still
    // shows the anchor, and nothing is indexed a second time.
    await storage.restartAfterKill();
    const again = storage.out;
    let page:
      | { descriptors: { anchor: string | null }[]; finalHeight: number; indexedHeight: number }
      | undefined;
    await waitUntil(
      () => {
        const r = runQood(['market', 'list', '--node', api, '--json']);
        if (r.status !== 0) return false;
        page = JSON.parse(r.stdout);
        return page!.indexedHeight >= page!.finalHeight && page!.finalHeight > 0;
      },
      15_000,
      'the restarted node to serve the listing',
      200,
    );
    expect(page!.descriptors.map((d) => d.anchor)).toEqual([anchor]);
    await waitUntil(
      () => again.stdout().includes('node ready'),
      5000,
      'the restarted node to log that it is ready',
    );
    expect(again.stdout()).not.toMatch(/descriptor anchors indexed/);
  }, 60_000);

  it("checks chain records against the --checkpoint it is given; without one it takes the node's on first use and says so once", () => {
    const cp = join(dir, 'buyer.checkpoint');
    const made = runQood(['node', 'checkpoint', '--api', api, '--out', cp]);
    expect(made.status, made.stderr).toBe(0);
    const order = 'cd'.repeat(32);
    // The buyer's own checkpoint: the absence of the order is proven from it, nothing taken on trust.
    const own = runQood(['market', 'status', '--node', api, '--order', order, '--checkpoint', cp]);
    expect(own.status, own.stderr).toBe(1);
    expect(own.stdout).toMatch(/not in the final chain/);
    expect(own.stderr).not.toMatch(/trusting/);
    // Without it: the same answer, and one line on stderr saying whose checkpoint was trusted.
    const tofu = runQood(['market', 'status', '--node', api, '--order', order]);
    expect(tofu.status, tofu.stderr).toBe(1);
    expect(tofu.stdout).toMatch(/not in the final chain/);
    expect(
      tofu.stderr.match(/no --checkpoint: trusting the node's checkpoint at height \d+ on first use/g),
    ).toHaveLength(1);
    // A file that is not a checkpoint, or no file: exit 2 naming the option, the file and why.
    const garbage = join(dir, 'garbage.checkpoint');
    writeFileSync(garbage, 'not a checkpoint');
    const bad = runQood(['market', 'status', '--node', api, '--order', order, '--checkpoint', garbage]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(
      /qood market status: --checkpoint '.*garbage\.checkpoint': expected a light-client checkpoint \(qood node checkpoint --out FILE\), got one that does not decode/,
    );
    const missing = runQood([
      'market',
      'split',
      '--node',
      api,
      '--order',
      order,
      '--checkpoint',
      join(dir, 'none'),
    ]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--checkpoint '.*none': expected a readable checkpoint file, got ENOENT/);
  });

  it('says what was wrong with the command line, exiting 2', () => {
    const r = runQood(['market', 'buy', '--node', api, '--descriptor', 'ab'.repeat(32), '--price', '-3']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--price '-3': expected a positive QDD amount/);
    const k = runQood(['market', 'fetch', '--node', api, '--order', 'ab'.repeat(32), '--out', 'x']);
    expect(k.status).toBe(2);
    expect(k.stderr).toMatch(/--key FILE/);
  });
});
