/**
 * `writeDevnetFolder` (what `qood devnet start` and the namespace devnet write): every node config
 * loads through the node's own config loader, names the node's addresses and every other node as a
 * peer, and the genesis lists each node as a producer with its HTTP URL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatProblem, loadConfigFile } from '../../../../agent/config/yaml-file.js';
import { nodeConfigSchema } from '../../../../node/config.js';
import { readGenesisFile, readKeyFile } from '../../../../node/runtime/index.js';
import { devnetNodePaths, writeDevnetFolder } from '../../../../simulators/devnet/devnet-folder.js';

describe('writeDevnetFolder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qood-devnet-folder-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes keys, one genesis and a config per node for the addresses it is given', () => {
    writeDevnetFolder({
      dir,
      nodes: 3,
      preset: 'minimal',
      listen: (i) => `10.77.0.${i + 1}:26600`,
      http: (i) => `10.78.${i}.1:26700`,
      genesisTimeMs: 1_800_000_000_000,
    });
    const genesis = readGenesisFile(join(dir, 'genesis.yaml'), 'minimal');
    expect(genesis.timeMs).toBe(1_800_000_000_000);
    expect(genesis.producers.map((p) => p.url)).toEqual([
      'http://10.78.0.1:26700',
      'http://10.78.1.1:26700',
      'http://10.78.2.1:26700',
    ]);
    for (let i = 0; i < 3; i++) {
      const p = devnetNodePaths(dir, i);
      // What `qood node -c` does with the file: the YAML reader and the node's schema.
      const r = loadConfigFile(p.config, nodeConfigSchema);
      if (!r.ok) throw new Error(r.problems.map(formatProblem).join('; '));
      const c = r.config;
      expect(c.chain?.listen).toBe(`10.77.0.${i + 1}:26600`);
      expect(c.chain?.http).toBe(`10.78.${i}.1:26700`);
      expect(c.chain?.peers).toEqual([0, 1, 2].filter((j) => j !== i).map((j) => `10.77.0.${j + 1}:26600`));
      expect(c.node.dataDir).toBe(p.home);
      // The node's key is the producer at its index in the genesis.
      const key = readKeyFile(p.key);
      expect(genesis.producers[i]!.address).toBe(Buffer.from(key.publicKey).toString('hex'));
    }
    expect(readKeyFile(join(dir, 'whale.key')).publicKey).toHaveLength(32);
  });
});
