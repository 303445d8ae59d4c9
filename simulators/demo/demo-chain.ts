/**
 * The chain side of `qood demo`: a small devnet of four `qood node` processes on loopback (from the
 * devnet folder `qood devnet start` writes too), node 0 also the TSP's storage node and device link
 * on the demo's broker; the owner's onboarding (vehicle, device, agreement with the OEM); and a
 * buyer who finds an anchored descriptor, orders it, waits for the device to fill the order, then
 * fetches, verifies and decrypts the data and reads the payment split.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  agreementId,
  agreementTermsHash,
  chainVehicleId,
  type Ed25519Signer,
  encodeSignedTx,
  fromHex,
  signTx,
  type TxBodies,
  type TxKind,
  toHex,
  UNIT,
  type UnsignedTx,
} from '../../chain/index.js';
import { MarketClient } from '../../market/index.js';
import { readKeyFile } from '../../node/runtime/local-genesis.js';
import { callLocalApi } from '../../process/index.js';
import { devnetNodePaths, writeDevnetFolder } from '../devnet/devnet-folder.js';

export const DEMO_CHAIN_ID = 'qood-demo';
const NODES = 4;

/** What the buyer did and saw, for the demo's summary. */
export interface BuyerReport {
  /** The chain descriptor id bought, or null when none was anchored in time. */
  readonly anchor: string | null;
  readonly orderId: string | null;
  readonly filled: boolean;
  readonly chunks: number;
  readonly samples: number;
  /** QDD base units each party got from the sale, by role. */
  readonly split: Readonly<Record<string, string>>;
  /** Why the purchase stopped short, if it did. */
  readonly error?: string;
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** The CLI the node processes run: the built `qood` beside this module. */
function cliPath(): string {
  const p = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
  if (!existsSync(p))
    throw new Error(`the demo's devnet runs the built CLI (${p}); run \`npm run build\` first`);
  return p;
}

export class DemoChain {
  readonly api: string;
  readonly #dir: string;
  readonly #children: ChildProcess[];
  readonly #nonces = new Map<string, number>();

  readonly #onExit = (): void => {
    // The demo process is going away (even by a crash): its nodes go with it.
    for (const c of this.#children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };

  private constructor(dir: string, api: string, children: ChildProcess[]) {
    this.#dir = dir;
    this.api = api;
    this.#children = children;
    process.on('exit', this.#onExit);
  }

  /**
   * Writes the devnet folder, starts the four nodes and waits for the first final block. `funded`
   * accounts get QDT (and QDD) at genesis.
   */
  static async start(o: {
    dir: string;
    brokerUrl: string;
    deviceKeys: Record<string, string>;
    funded: readonly { address: string; qdt: bigint; qdd?: bigint }[];
  }): Promise<DemoChain> {
    const ports = await freePorts(2 * NODES);
    writeDevnetFolder({
      dir: o.dir,
      nodes: NODES,
      preset: 'minimal',
      chainId: DEMO_CHAIN_ID,
      listen: (i) => `127.0.0.1:${ports[i]}`,
      http: (i) => `127.0.0.1:${ports[NODES + i]}`,
      ingest: { broker: o.brokerUrl, deviceKeys: o.deviceKeys, protocolVersion: 4 },
      accounts: o.funded,
    });
    const cli = cliPath();
    const children = Array.from({ length: NODES }, (_, i) => {
      const p = devnetNodePaths(o.dir, i);
      const log = openSync(p.log, 'a');
      // Their own process group: a Ctrl-C at the terminal reaches the demo, which stops the nodes
      // after the device's last sync (and kills them if it exits any other way).
      const child = spawn(process.execPath, [cli, 'node', '-c', p.config], {
        stdio: ['ignore', log, log],
        detached: true,
      });
      closeSync(log); // the child has its own copy
      return child;
    });
    const chain = new DemoChain(o.dir, `http://127.0.0.1:${ports[NODES]}`, children);
    const until = Date.now() + 30_000;
    for (;;) {
      try {
        const s = (await (await fetch(`${chain.api}/status`)).json()) as { final: { height: number } };
        if (s.final.height >= 1) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) {
        await chain.stop();
        throw new Error(
          `the demo devnet did not finalise a block in 30 s; see ${devnetNodePaths(o.dir, 0).log}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return chain;
  }

  /** Signs and submits a transaction (fresh accounts: nonces counted here from 0). */
  async submit<K extends TxKind>(signer: Ed25519Signer, kind: K, body: TxBodies[K]): Promise<string> {
    const sender = toHex(signer.publicKey);
    const nonce = this.#nonces.get(sender) ?? 0;
    this.#nonces.set(sender, nonce + 1);
    const tx = signTx({ chainId: DEMO_CHAIN_ID, kind, sender, nonce, fee: 0n, body } as UnsignedTx, signer);
    const r = await fetch(`${this.api}/tx`, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor' },
      body: encodeSignedTx(tx),
    });
    if (r.status !== 202 && r.status !== 200) throw new Error(`the node refused ${kind}: ${await r.text()}`);
    return toHex(tx.id);
  }

  /**
   * The owner registers the vehicle, binds its device and records the agreement with the OEM
   * (owner 70%, OEM 30% of every sale); the owner submits the three in order.
   */
  async onboard(o: { vehicleId: string; owner: Ed25519Signer; oem: Ed25519Signer; device: Uint8Array }) {
    const vehicle = chainVehicleId(o.vehicleId);
    const terms = {
      vehicle,
      owner: toHex(o.owner.publicKey),
      oem: toHex(o.oem.publicKey),
      version: 1,
      classes: ['owner', 'oem', 'disputed'].map((name, holder) => ({ name, holder, privacy: 0 })),
      split: [
        { party: toHex(o.owner.publicKey), bps: 7000 },
        { party: toHex(o.oem.publicKey), bps: 3000 },
      ],
    };
    const h = agreementTermsHash(terms);
    await this.submit(o.owner, 'registerVehicle', { vehicle });
    await this.submit(o.owner, 'bindDevice', { vehicle, device: toHex(o.device) });
    await this.submit(o.owner, 'agreement', {
      terms,
      ownerSignature: o.owner.sign(h),
      oemSignature: o.oem.sign(h),
    });
    return agreementId(vehicle, terms.owner, terms.oem);
  }

  /** Writes the checkpoint a device trusts (node 0's last final header and schedule). */
  async writeCheckpoint(file: string): Promise<number> {
    const cp = (await (await fetch(`${this.api}/checkpoint`)).json()) as { bytes: string; height: number };
    writeFileSync(file, fromHex(cp.bytes));
    return cp.height;
  }

  /** Node 0's counters (ingest, bridge), from its local API. */
  async storageCounters(): Promise<Record<string, number>> {
    const s = (await callLocalApi(`${devnetNodePaths(this.#dir, 0).home}/node.sock`, 'status')) as {
      counters?: Record<string, number>;
    };
    return s.counters ?? {};
  }

  /** Node 0's public key (hex): it signs the storage node's acks, so the device's `sync.nodeKeys` names it. */
  get storageNodeKey(): string {
    return toHex(readKeyFile(devnetNodePaths(this.#dir, 0).key).publicKey);
  }

  /** Where node 0 keeps what it ingested. */
  get ingestPath(): string {
    return `${devnetNodePaths(this.#dir, 0).home}/ingest.db`;
  }

  /** Stops every node (SIGTERM, then SIGKILL after 5 s). */
  async stop(): Promise<void> {
    process.off('exit', this.#onExit);
    await Promise.all(
      this.#children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const kill = setTimeout(() => c.kill('SIGKILL'), 5000);
            c.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
  }
}

/**
 * The buyer: waits for a descriptor of `vehicleId` that is anchored and not private, orders it at
 * `price`, waits for the fill, then fetches, verifies and decrypts it and reads the split.
 */
export async function runBuyer(o: {
  api: string;
  secretKey: Uint8Array;
  vehicleId: string;
  price: bigint;
  print: (line: string) => void;
  signal: AbortSignal;
  timeoutMs: number;
}): Promise<BuyerReport> {
  const market = new MarketClient({ nodeUrl: o.api, secretKey: o.secretKey });
  const end = Date.now() + o.timeoutMs;
  let anchor: string | null = null;
  let orderId: string | null = null;
  const report = (extra: Partial<BuyerReport>): BuyerReport => ({
    anchor,
    orderId,
    filled: false,
    chunks: 0,
    samples: 0,
    split: {},
    ...extra,
  });
  const stopped = new Promise<BuyerReport>((resolve) => {
    const done = () => resolve(report({ error: 'stopped before the purchase was done' }));
    if (o.signal.aborted) done();
    o.signal.addEventListener('abort', done, { once: true });
  });
  return Promise.race([stopped, buy()]);

  async function buy(): Promise<BuyerReport> {
    try {
      while (anchor === null) {
        if (o.signal.aborted || Date.now() > end) return report({ error: 'no anchored descriptor in time' });
        const page = await market.listDescriptors({ vehicle: o.vehicleId });
        const forSale = page.descriptors.filter((d) => d.anchor !== null && d.privacy !== 'private');
        anchor = forSale[0]?.anchor ?? null;
        if (anchor === null) await new Promise((r) => setTimeout(r, 300));
        else
          o.print(
            `buyer: descriptor ${forSale[0]!.id.slice(0, 16)}… (${forSale[0]!.chunkCount} chunks, ${forSale[0]!.dataClass} data) is anchored as ${anchor.slice(0, 16)}…; ordering it for ${Number(o.price) / Number(UNIT)} QDD`,
          );
      }
      const placed = await market.order(anchor, o.price, 600);
      orderId = placed.orderId;
      await market.waitForFill(orderId, Math.max(1000, end - Date.now()), 300);
      o.print(
        `buyer: order ${orderId.slice(0, 16)}… filled by the device: the keys arrived wrapped to the buyer`,
      );
      const purchase = await market.verifyAndDecrypt(orderId);
      const split = await market.split(orderId);
      const byRole = Object.fromEntries(split.shares.map((s) => [s.role, s.amount.toString()]));
      o.print(
        `buyer: fetched ${purchase.chunks.length} chunks, verified against the chain anchor and the device key, decrypted ${purchase.samples.length} samples of ${Object.keys(purchase.samplesPerSignal).length} signals` +
          `\n       the sale paid the owner ${Number(split.shares[0]?.amount ?? 0n) / Number(UNIT)} QDD and the OEM ${Number(split.shares[1]?.amount ?? 0n) / Number(UNIT)} QDD (70/30 by their agreement)`,
      );
      return report({
        filled: true,
        chunks: purchase.chunks.length,
        samples: purchase.samples.length,
        split: byRole,
      });
    } catch (err) {
      if (!o.signal.aborted) o.print(`buyer: ${(err as Error).message}`);
      return report({ error: (err as Error).message });
    }
  }
}
