/**
 * startNode, the full node's composition root: a one-producer chain node comes up with its HTTP API
 * and local socket, finalises blocks, shows its chain role in `status` and tells the service manager
 * when it is ready and when it stops. A role that does not start rejects with a NodeStartError that
 * names the role, the file and whether the config is at fault, after stopping the roles started
 * before it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Ed25519Signer } from '../../../../chain/index.js';
import {
  formatGenesis,
  localGenesis,
  type NodeConfig,
  NodeStartError,
  type NodeStatus,
  newNodeSecret,
  nodeConfigSchema,
  startNode,
  writeKeyFile,
} from '../../../../node/index.js';
import { callLocalApi, noopNotifier, type ServiceNotifier, silentLogger } from '../../../../process/index.js';

const root = mkdtempSync(join(tmpdir(), 'qood-start-node-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A folder with a producer key and a genesis where that producer is the whole schedule. */
function chainFolder(name: string): { dir: string; keyFile: string; genesisFile: string } {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const secret = newNodeSecret();
  const keyFile = join(dir, 'node.key');
  const genesisFile = join(dir, 'genesis.yaml');
  writeKeyFile(keyFile, secret);
  const genesis = localGenesis({
    chainId: 'qood-start-node',
    preset: 'minimal',
    producers: [new Ed25519Signer(secret)],
    whale: new Ed25519Signer(newNodeSecret()),
    timeMs: Date.now(),
  });
  writeFileSync(genesisFile, formatGenesis(genesis));
  return { dir, keyFile, genesisFile };
}

function chainConfig(f: { dir: string; keyFile: string; genesisFile: string }, extra = {}): NodeConfig {
  return nodeConfigSchema.parse({
    node: { dataDir: f.dir, socketPath: join(f.dir, 'node.sock') },
    chain: {
      keyFile: f.keyFile,
      genesisFile: f.genesisFile,
      preset: 'minimal',
      listen: '127.0.0.1:0',
      http: '127.0.0.1:0',
    },
    ...extra,
  });
}

async function rejection(p: Promise<unknown>): Promise<NodeStartError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NodeStartError);
  return err as NodeStartError;
}

describe('startNode', () => {
  it('runs the chain role with its HTTP API and local socket, then stops', async () => {
    const f = chainFolder('chain');
    const told: string[] = [];
    const notifier: ServiceNotifier = {
      ...noopNotifier,
      ready: () => told.push('ready'),
      stopping: () => told.push('stopping'),
    };
    const node = await startNode({ config: chainConfig(f), logger: silentLogger, notifier });
    try {
      expect(told).toEqual(['ready']);
      expect(node.fullNode).toBeDefined();
      expect(node.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const until = Date.now() + 20_000;
      while (node.fullNode!.lastFinal.height < 1 && Date.now() < until)
        await new Promise((r) => setTimeout(r, 100));
      const api = (await (await fetch(`${node.apiUrl}/status`)).json()) as { final: { height: number } };
      expect(api.final.height).toBeGreaterThanOrEqual(1);
      const s = (await callLocalApi(node.socketPath, 'status')) as NodeStatus;
      expect(s.role).toBe('node');
      expect(s.chain?.address).toBe(node.fullNode!.address);
      expect(s.chain?.final).toBeGreaterThanOrEqual(1);
      expect(s.chain?.bridge).toBeUndefined();
      expect(node.status().chain?.address).toBe(node.fullNode!.address);
    } finally {
      await node.stop();
    }
    expect(told).toEqual(['ready', 'stopping']);
    await expect(callLocalApi(node.socketPath, 'status')).rejects.toThrow();
  });

  it('refuses a key file that does not load as a usage error of the chain role, naming the file', async () => {
    const f = chainFolder('no-key');
    const keyFile = join(f.dir, 'missing.key');
    const err = await rejection(
      startNode({
        config: chainConfig({ ...f, keyFile }),
        logger: silentLogger,
        notifier: noopNotifier,
      }),
    );
    expect(err.code).toBe('usage');
    expect(err.role).toBe('chain');
    expect(err.file).toBe(keyFile);
    expect(err.message).toMatch(new RegExp(`^chain: ${keyFile}: `));
  });

  it('reports a data folder that cannot be made as a failure (a retry may pass), naming the folder', async () => {
    const f = chainFolder('data-dir');
    const notADir = join(f.dir, 'a-file');
    writeFileSync(notADir, '');
    const config = chainConfig(f);
    const err = await rejection(
      startNode({
        config: { ...config, node: { ...config.node, dataDir: join(notADir, 'data') } },
        logger: silentLogger,
        notifier: noopNotifier,
      }),
    );
    expect(err.code).toBe('failure');
    expect(err.role).toBe('chain');
    expect(err.file).toBe(join(notADir, 'data'));
  });

  it('stops the ingest role it started when the chain role then fails', async () => {
    const f = chainFolder('ingest-then-chain');
    const genesisFile = join(f.dir, 'broken-genesis.yaml');
    writeFileSync(genesisFile, 'params: 7\n');
    // A broker that accepts connections and never answers: the ingest role's connection to it stays
    // open until the role is stopped.
    const open = new Set<Socket>();
    const broker = createServer((socket) => {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => broker.listen(0, '127.0.0.1', r));
    const { port } = broker.address() as AddressInfo;
    try {
      const err = await rejection(
        startNode({
          config: chainConfig({ ...f, genesisFile }, { ingest: { broker: `mqtt://127.0.0.1:${port}` } }),
          logger: silentLogger,
          notifier: noopNotifier,
        }),
      );
      expect(err.code).toBe('usage');
      expect(err.role).toBe('chain');
      expect(err.file).toBe(genesisFile);
      await new Promise((r) => setTimeout(r, 500));
      expect(open.size).toBe(0);
    } finally {
      for (const s of open) s.destroy();
      await new Promise((r) => broker.close(r));
    }
  });
});
