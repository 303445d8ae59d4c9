/**
 * The device link as a TSP and an owner run it, every part a real process: mosquitto, a
 * single-producer `qood node` with the ingest and chain roles (minimal preset), and a `qood agent`
 * whose `chain` section trusts a checkpoint fetched with `qood node checkpoint`. The agent follows
 * the node's finality updates (its `chain.updates` grow); a grant the owner revokes ON CHAIN (a
 * revoke posted to the node's HTTP API) is revoked on the device through a proven update; a grant
 * the owner revokes ON THE DEVICE (the signed revoke queued in the agent's outbox) reaches the
 * chain through the broker, the ingest and the bridge, as GET /state shows. Both stop cleanly.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeGrantBundle, signOwnerRevoke } from '../../../agent/permissions/index.js';
import {
  decodeCheckpoint,
  decodeGrant,
  Ed25519Signer,
  encodeSignedTx,
  fromHex,
  ownerIdentity,
  seedFromMnemonic,
  signTx,
  toHex,
  UNIT,
} from '../../../chain/index.js';
import { formatGenesis, localGenesis, newNodeSecret, writeKeyFile } from '../../../node/runtime/index.js';
import { collectOutput, runQood, startQood, waitExit, waitUntil } from '../../support/cli.js';
import { freePort, Mosquitto } from '../../support/mosquitto.js';
import { describeSystem } from '../../support/system.js';

const CHAIN = 'qood-bridge-sys';

describeSystem(
  'the node’s device link through a real mosquitto',
  [{ bin: 'mosquitto', pkg: 'mosquitto' }],
  () => {
    let broker: Mosquitto;
    let dir: string;
    beforeAll(async () => {
      broker = await Mosquitto.start();
      dir = mkdtempSync(join(tmpdir(), 'qood-bridge-sys-'));
    });
    afterAll(async () => {
      await broker?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const ok = (args: string[]) => {
      const r = runQood(args);
      if (r.status !== 0) throw new Error(`qood ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
      return r.stdout;
    };

    it('the agent follows finality, takes a chain revocation, and its own queued revoke reaches the chain', async () => {
      // The owner and the device.
      const seedFile = join(dir, 'seed.txt');
      const data = join(dir, 'agent-data');
      mkdirSync(data, { mode: 0o700 });
      const ownerHex = ok(['keys', 'new-seed', '--out', seedFile]).trim().split(' ').pop()!;
      ok(['keys', 'pair', '--seed-file', seedFile, '--vehicle', 'car-1', '--data-dir', data]);
      const ownerSecret = ownerIdentity(seedFromMnemonic(readFileSync(seedFile, 'utf8'))).secretKey;
      const owner = new Ed25519Signer(ownerSecret);
      expect(toHex(owner.publicKey)).toBe(ownerHex);

      // A one-producer chain whose genesis funds the owner (mana for fee-free transactions).
      const secret = newNodeSecret();
      const whale = newNodeSecret();
      const devicePublicKey = ok(['keys', 'device', '--data-dir', data]).trim();
      writeKeyFile(join(dir, 'node.key'), secret);
      const g = localGenesis({
        chainId: CHAIN,
        preset: 'minimal',
        producers: [new Ed25519Signer(secret)],
        whale: new Ed25519Signer(whale),
        timeMs: Date.now(),
      });
      writeFileSync(
        join(dir, 'genesis.yaml'),
        formatGenesis({ ...g, accounts: [...g.accounts, { address: ownerHex, qdt: 1000n * UNIT }] }),
      );
      const httpPort = await freePort();
      const api = `http://127.0.0.1:${httpPort}`;
      const nodeSock = join(dir, 'node.sock');
      const nodeCfg = join(dir, 'node.yaml');
      writeFileSync(
        nodeCfg,
        [
          'node:',
          `  dataDir: ${join(dir, 'node-data')}`,
          `  socketPath: ${nodeSock}`,
          'ingest:',
          `  broker: ${broker.url}`,
          '  clientId: bridge-node',
          // The node checks the device's signature on everything it queues.
          '  deviceKeys:',
          `    car-1: ${devicePublicKey}`,
          'chain:',
          `  keyFile: ${join(dir, 'node.key')}`,
          `  genesisFile: ${join(dir, 'genesis.yaml')}`,
          '  preset: minimal',
          `  http: 127.0.0.1:${httpPort}`,
          '',
        ].join('\n'),
      );
      mkdirSync(join(dir, 'node-data'));
      const node = startQood(['node', '-c', nodeCfg]);
      const nodeOut = collectOutput(node);
      const agentSock = join(dir, 'agent.sock');
      let agent: ReturnType<typeof startQood> | undefined;
      let agentOut: ReturnType<typeof collectOutput> | undefined;
      const post = async (bytes: Uint8Array) => {
        const r = await fetch(`${api}/tx`, {
          method: 'POST',
          headers: { 'content-type': 'application/cbor' },
          body: Buffer.from(bytes),
        });
        expect(r.status, JSON.stringify(await r.clone().json())).toBe(202);
      };
      const grantOnChain = async (id: string) => {
        const r = await fetch(`${api}/state/grant%2F${id}`);
        const body = (await r.json()) as { value: string | null };
        return body.value === null ? undefined : decodeGrant(fromHex(body.value));
      };
      try {
        await waitUntil(
          () => nodeOut.stdout().includes('device link started'),
          20_000,
          'the node and its bridge',
        );
        await waitUntil(
          async () => {
            const r = await fetch(`${api}/status`).catch(() => undefined);
            return r !== undefined && ((await r.json()) as { final: { height: number } }).final.height >= 1;
          },
          15_000,
          'a final block',
          100,
        );
        const cpFile = join(dir, 'checkpoint.bin');
        expect(ok(['node', 'checkpoint', '-c', nodeCfg, '--out', cpFile])).toMatch(
          /^checkpoint at final height \d+ \(block [0-9a-f]{16}\.\.\., 1 producer\) written to /,
        );
        expect(decodeCheckpoint(readFileSync(cpFile)).header.chainId).toBe(CHAIN);

        // The owner registers the vehicle and records two listen grants on chain.
        const { chainVehicleId } = await import('../../../agent/permissions/index.js');
        await post(
          encodeSignedTx(
            signTx(
              {
                chainId: CHAIN,
                kind: 'registerVehicle',
                sender: ownerHex,
                nonce: 0,
                fee: 0n,
                body: { vehicle: chainVehicleId('car-1') },
              },
              owner,
            ),
          ),
        );
        const grantIds: string[] = [];
        for (const [i, name] of ['a', 'b'].entries()) {
          const file = join(dir, `${name}.grant`);
          const id = ok([
            'grants',
            'issue',
            '--seed-file',
            seedFile,
            '--vehicle',
            'car-1',
            '--grantee',
            toHex(new Ed25519Signer(new Uint8Array(32).fill(i + 1)).publicKey),
            '--kind',
            'listen',
            '--scope',
            'Vehicle.Speed',
            '--valid-for',
            '1h',
            '--chain-id',
            CHAIN,
            '--nonce',
            String(i + 1),
            '--out',
            file,
          ]).trim();
          grantIds.push(id);
          await post(encodeSignedTx(decodeGrantBundle(readFileSync(file)).tx));
        }
        const [a, b] = grantIds as [string, string];
        await waitUntil(
          async () => (await grantOnChain(b)) !== undefined,
          15_000,
          'both grants on chain',
          200,
        );

        // The agent, trusting the checkpoint, with both grants installed.
        const agentCfg = join(dir, 'agent.yaml');
        writeFileSync(
          agentCfg,
          [
            'device:',
            '  vehicleId: car-1',
            `  dataDir: ${data}`,
            `  socketPath: ${agentSock}`,
            'storage:',
            `  path: ${join(dir, 'agent.db')}`,
            'sync:',
            `  broker: ${broker.url}`,
            // The node signs its acks with its node key.
            `  nodeKeys: [${toHex(new Ed25519Signer(secret).publicKey)}]`,
            'chain:',
            `  checkpoint: ${cpFile}`,
            'permissions:',
            `  chainId: ${CHAIN}`,
            'log:',
            '  level: info',
            '',
          ].join('\n'),
        );
        agent = startQood(['agent', '--config', agentCfg]);
        agentOut = collectOutput(agent);
        await waitUntil(() => existsSync(agentSock), 15_000, 'the agent socket');
        for (const name of ['a', 'b'])
          ok(['grants', 'install', join(dir, `${name}.grant`), '--socket', agentSock]);
        const agentCounters = () =>
          JSON.parse(ok(['status', '--socket', agentSock, '--json'])).counters as Record<string, number>;
        await waitUntil(
          () => (agentCounters()['chain.updates'] ?? 0) >= 3,
          20_000,
          'the agent to follow finality',
          200,
        );

        // Revoked on chain: the device learns it from a proven update.
        await post(signOwnerRevoke({ ownerSecretKey: ownerSecret, grantId: a, chainId: CHAIN, nonce: 3 }));
        await waitUntil(
          () => ok(['grants', 'list', '--socket', agentSock]).includes(`${a.slice(0, 16)}  listen   revoked`),
          20_000,
          'the chain revocation to reach the device',
          200,
        );
        expect((await grantOnChain(a))?.revoked).toBe(true);
        expect(agentCounters()['chain.grantRecords']).toBeGreaterThanOrEqual(1);

        // Revoked on the device: the queued revoke reaches the chain.
        expect(
          ok([
            'grants',
            'revoke',
            b,
            '--seed-file',
            seedFile,
            '--nonce',
            '4',
            '--chain-id',
            CHAIN,
            '--socket',
            agentSock,
          ]),
        ).toContain('revoke queued for the chain');
        await waitUntil(
          async () => (await grantOnChain(b))?.revoked === true,
          20_000,
          'the device revoke on chain',
          200,
        );

        const nodeStatus = JSON.parse(ok(['status', '--socket', nodeSock, '--json'])) as {
          counters: Record<string, number>;
          chain: { bridge: { publishedHeight: number } };
        };
        expect(nodeStatus.counters['bridge.txs.included']).toBe(1);
        expect(nodeStatus.counters['bridge.txs.refused']).toBe(0);
        expect(nodeStatus.counters['bridge.finality.published']).toBeGreaterThanOrEqual(3);
        expect(nodeStatus.counters['bridge.finality.proofs']).toBeGreaterThanOrEqual(3);
        expect(nodeStatus.chain.bridge.publishedHeight).toBeGreaterThan(0);
        // The device refused nothing the node published.
        expect(agentCounters()['chain.refused'] ?? 0).toBe(0);
      } catch (err) {
        throw new Error(
          `${(err as Error).message}\nnode: ${nodeOut.stdout().slice(-4000)}${nodeOut.stderr()}\nagent: ${agentOut?.stdout().slice(-4000) ?? ''}${agentOut?.stderr() ?? ''}`,
        );
      } finally {
        agent?.kill('SIGTERM');
        node.kill('SIGTERM');
      }
      if (agent !== undefined) expect((await waitExit(agent, 10_000)).code, agentOut?.stderr()).toBe(0);
      expect((await waitExit(node, 10_000)).code, nodeOut.stderr()).toBe(0);
    }, 120_000);
  },
);
