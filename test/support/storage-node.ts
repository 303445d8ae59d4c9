/**
 * A `qood node` process for system tests: one producer (the market fixture's genesis) that also
 * takes the ingest role from a broker, so it is a storage node and device link; with helpers to
 * submit the fixture parties' transactions over its HTTP API and to wait for final state.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import {
  type Ed25519Signer,
  encodeSignedTx,
  type SignedTx,
  type TxBodies,
  type TxKind,
  toHex,
} from '../../chain/index.js';
import { formatGenesis, writeKeyFile } from '../../node/runtime/index.js';
import { collectOutput, startQood, waitExit, waitUntil } from './cli.js';
import { MARKET_VEHICLE, marketGenesis, marketParties, marketSecret, marketTx } from './market.js';
import { freePort } from './mosquitto.js';

/** A state key's answer from the node's API. */
export interface StateAnswer {
  readonly value: string | null;
  readonly decoded?: { readonly qdd: string };
}

export class StorageNodeProcess {
  node: ChildProcess;
  out: ReturnType<typeof collectOutput>;
  readonly api: string;
  readonly config: string;
  readonly #chainId: string;
  readonly #nonces = new Map<string, number>();

  private constructor(config: string, api: string, chainId: string) {
    this.config = config;
    this.api = api;
    this.#chainId = chainId;
    this.node = startQood(['node', '-c', config]);
    this.out = collectOutput(this.node);
  }

  /** Writes key, genesis and config under `dir`, starts the node and waits for a final block. */
  static async start(o: { brokerUrl: string; dir: string; chainId: string }): Promise<StorageNodeProcess> {
    mkdirSync(o.dir, { recursive: true });
    const [p2p, http] = [await freePort(), await freePort()];
    writeKeyFile(join(o.dir, 'node.key'), marketSecret('producer'));
    writeFileSync(join(o.dir, 'genesis.yaml'), formatGenesis(marketGenesis(o.chainId, Date.now() + 500)));
    const config = join(o.dir, 'node.yaml');
    writeFileSync(
      config,
      stringify({
        node: { dataDir: o.dir, socketPath: join(o.dir, 'node.sock') },
        log: { level: 'info' },
        ingest: {
          broker: o.brokerUrl,
          clientId: 'storage-node',
          deviceKeys: { [MARKET_VEHICLE]: toHex(marketParties.device.publicKey) },
        },
        chain: {
          keyFile: join(o.dir, 'node.key'),
          genesisFile: join(o.dir, 'genesis.yaml'),
          preset: 'minimal',
          listen: `127.0.0.1:${p2p}`,
          http: `127.0.0.1:${http}`,
        },
      }),
    );
    const n = new StorageNodeProcess(config, `http://127.0.0.1:${http}`, o.chainId);
    await n.waitFinal(1);
    return n;
  }

  /** Waits until the node's last final height is at least `height`. */
  waitFinal(height: number): Promise<void> {
    return waitUntil(
      async () => {
        try {
          const s = (await (await fetch(`${this.api}/status`)).json()) as { final: { height: number } };
          return s.final.height >= height;
        } catch {
          return false;
        }
      },
      15_000,
      `the node to finalise height ${height}`,
      100,
    );
  }

  /** Kills the node with SIGKILL and starts it again on the same folder. */
  async restartAfterKill(): Promise<void> {
    this.node.kill('SIGKILL');
    await waitExit(this.node, 10_000);
    this.node = startQood(['node', '-c', this.config]);
    this.out = collectOutput(this.node);
  }

  /** Signs with the sender's next nonce (counted here from 0) and posts; expects 202. */
  async submit<K extends TxKind>(signer: Ed25519Signer, kind: K, body: TxBodies[K]): Promise<SignedTx> {
    const sender = toHex(signer.publicKey);
    const nonce = this.#nonces.get(sender) ?? 0;
    this.#nonces.set(sender, nonce + 1);
    const tx = marketTx(this.#chainId, signer, kind, body, nonce);
    const r = await fetch(`${this.api}/tx`, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor' },
      body: encodeSignedTx(tx),
    });
    expect(r.status, `${kind}: ${await r.clone().text()}`).toBe(202);
    return tx;
  }

  /** A state key at the last final block. */
  async state(key: string): Promise<StateAnswer> {
    return (await (await fetch(`${this.api}/state/${key}`)).json()) as StateAnswer;
  }

  /** Waits until the final state holds `key`. */
  finalHas(key: string): Promise<void> {
    return waitUntil(async () => (await this.state(key)).value !== null, 15_000, key, 100);
  }

  /** SIGTERM, then waits for the exit. */
  async stop(): Promise<void> {
    if (this.node.exitCode !== null || this.node.signalCode !== null) return;
    this.node.kill('SIGTERM');
    await waitExit(this.node, 10_000).catch(() => undefined);
  }
}
