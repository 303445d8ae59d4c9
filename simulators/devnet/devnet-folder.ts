/**
 * A devnet folder: what `qood devnet start`, the demo and the namespace devnet run `qood node`
 * processes from. It holds a key per node, a funded account's key (`whale.key`, also the QDD
 * issuer), a genesis naming every node as a producer, and each node's config and home folder
 * (database, log, pid, local socket).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { Ed25519Signer } from '../../chain/index.js';
import { formatGenesis, localGenesis, newNodeSecret, writeKeyFile } from '../../node/index.js';

/** What a devnet folder holds for node `i`. */
export function devnetNodePaths(dir: string, i: number) {
  const home = `${dir}/node${i}`;
  return {
    home,
    key: `${home}/node.key`,
    config: `${home}/node.yaml`,
    log: `${home}/node.log`,
    pid: `${home}/pid`,
  };
}

/** What a devnet folder is made for: its nodes and where each listens. */
export interface DevnetLayout {
  /** The folder (absolute): keys, genesis, configs, databases and logs. */
  readonly dir: string;
  /** Nodes, all producers in the genesis schedule. */
  readonly nodes: number;
  readonly preset: 'minimal' | 'mainnet';
  /** Node i's peer address (host:port); every other node dials it. */
  readonly listen: (i: number) => string;
  /** Node i's HTTP API address (host:port); also its producer URL in the genesis. */
  readonly http: (i: number) => string;
  /** The genesis time (default: one second from now). */
  readonly genesisTimeMs?: number;
  /** The chain id (default `qood-devnet`). */
  readonly chainId?: string;
  /**
   * With it, node 0 is also the storage node and device link: it takes devices' uploads from this
   * broker (the `ingest` section) for the vehicles and device keys listed.
   */
  readonly ingest?: {
    readonly broker: string;
    readonly deviceKeys: Readonly<Record<string, string>>;
    readonly protocolVersion?: 4 | 5;
  };
  /** Accounts funded at genesis besides the whale (address -> QDT and QDD base units). */
  readonly accounts?: readonly { readonly address: string; readonly qdt: bigint; readonly qdd?: bigint }[];
}

/**
 * Writes a new devnet folder: a key per node, the funded account's key (`whale.key`, also the QDD
 * issuer), a genesis naming every node as a producer, and each node's config (devnetNodePaths).
 */
export function writeDevnetFolder(layout: DevnetLayout): void {
  const { dir, nodes, preset } = layout;
  const genesisFile = `${dir}/genesis.yaml`;
  mkdirSync(dir, { recursive: true });
  const secrets = Array.from({ length: nodes }, () => newNodeSecret());
  const whale = newNodeSecret();
  const genesis = localGenesis({
    chainId: layout.chainId ?? 'qood-devnet',
    preset,
    producers: secrets.map((s) => new Ed25519Signer(s)),
    whale: new Ed25519Signer(whale),
    timeMs: layout.genesisTimeMs ?? Date.now() + 1000,
    urls: secrets.map((_, i) => `http://${layout.http(i)}`),
  });
  const funded = { ...genesis, accounts: [...genesis.accounts, ...(layout.accounts ?? [])] };
  writeKeyFile(`${dir}/whale.key`, whale);
  secrets.forEach((s, i) => {
    const p = devnetNodePaths(dir, i);
    mkdirSync(p.home, { recursive: true });
    writeKeyFile(p.key, s);
    const config = {
      node: { dataDir: p.home, socketPath: `${p.home}/node.sock` },
      log: { level: 'info' },
      chain: {
        keyFile: p.key,
        genesisFile,
        preset,
        listen: layout.listen(i),
        peers: secrets.map((_, j) => layout.listen(j)).filter((_, j) => j !== i),
        http: layout.http(i),
      },
      ...(i === 0 && layout.ingest !== undefined
        ? {
            ingest: {
              broker: layout.ingest.broker,
              clientId: 'qood-devnet-storage',
              protocolVersion: layout.ingest.protocolVersion ?? 5,
              deviceKeys: { ...layout.ingest.deviceKeys },
            },
          }
        : {}),
    };
    writeFileSync(p.config, stringify(config));
  });
  writeFileSync(genesisFile, formatGenesis(funded));
}
