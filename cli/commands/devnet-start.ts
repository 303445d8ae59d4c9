/**
 * `qood devnet start --nodes 4 [--dir D] [--base-port P]`: a local chain of N `qood node` processes
 * on loopback. The first run writes a key per node, a funded account's key (`whale.key`, also the QDD
 * issuer), a genesis with every node as a producer (minimal preset) and a node config per node; a
 * later run on the same folder restarts the same chain from the nodes' databases. Node i listens for
 * peers on P + i and serves its HTTP API on P + 100 + i; its log is `node<i>/node.log`. With
 * `--broker URL [--device VEHICLE=KEY]...`, node 0 is also the storage node and device link on
 * that broker. Ctrl-C (or SIGTERM) stops every node.
 */
import type { Command } from 'commander';
import { CliExit, EXIT } from '../exit-codes.js';

interface StartOpts {
  nodes: string;
  dir: string;
  basePort: string;
  preset: string;
  broker?: string;
  device: string[];
}

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
export async function writeDevnetFolder(layout: DevnetLayout): Promise<void> {
  const [fs, { stringify }, rt, chain] = await Promise.all([
    import('node:fs'),
    import('yaml'),
    import('../../node/runtime/index.js'),
    import('../../chain/index.js'),
  ]);
  const { dir, nodes, preset } = layout;
  const genesisFile = `${dir}/genesis.yaml`;
  fs.mkdirSync(dir, { recursive: true });
  const secrets = Array.from({ length: nodes }, () => rt.newNodeSecret());
  const whale = rt.newNodeSecret();
  const genesis = rt.localGenesis({
    chainId: layout.chainId ?? 'qood-devnet',
    preset,
    producers: secrets.map((s) => new chain.Ed25519Signer(s)),
    whale: new chain.Ed25519Signer(whale),
    timeMs: layout.genesisTimeMs ?? Date.now() + 1000,
    urls: secrets.map((_, i) => `http://${layout.http(i)}`),
  });
  const funded = { ...genesis, accounts: [...genesis.accounts, ...(layout.accounts ?? [])] };
  rt.writeKeyFile(`${dir}/whale.key`, whale);
  secrets.forEach((s, i) => {
    const p = devnetNodePaths(dir, i);
    fs.mkdirSync(p.home, { recursive: true });
    rt.writeKeyFile(p.key, s);
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
    fs.writeFileSync(p.config, stringify(config));
  });
  fs.writeFileSync(genesisFile, rt.formatGenesis(funded));
}

/** Adds `start` to the `devnet` command group. */
export function registerDevnetStart(devnet: Command): void {
  devnet
    .command('start')
    .description('run N nodes as separate processes on loopback, with generated keys and a genesis')
    .option('--nodes <n>', 'nodes, all producers in the genesis schedule', '4')
    .option('--dir <dir>', 'folder for keys, genesis, configs, databases and logs', './qood-devnet')
    .option('--base-port <port>', 'node i: peers on port + i, HTTP API on port + 100 + i', '26600')
    .option('--preset <preset>', 'consensus parameters: minimal or mainnet', 'minimal')
    .option('--broker <url>', 'node 0 is also the storage node: devices upload through this MQTT broker')
    .option(
      '--device <vehicle=key>',
      "a vehicle id and its device's public key (64 hex) node 0 takes uploads from (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .action(async (opts: StartOpts) => {
      const nodes = Number(opts.nodes);
      if (!Number.isInteger(nodes) || nodes < 1 || nodes > 21)
        throw new CliExit(EXIT.usage, `qood devnet start: --nodes: expected 1 to 21, got '${opts.nodes}'`);
      const basePort = Number(opts.basePort);
      if (!Number.isInteger(basePort) || basePort < 1024 || basePort + 100 + nodes > 65535)
        throw new CliExit(
          EXIT.usage,
          `qood devnet start: --base-port: expected 1024 to ${65535 - 100 - nodes}, got '${opts.basePort}'`,
        );
      if (opts.preset !== 'minimal' && opts.preset !== 'mainnet')
        throw new CliExit(
          EXIT.usage,
          `qood devnet start: --preset: expected minimal or mainnet, got '${opts.preset}'`,
        );
      const deviceKeys: Record<string, string> = {};
      for (const d of opts.device) {
        const m = /^([A-Za-z0-9._-]{1,64})=([0-9a-fA-F]{64})$/.exec(d);
        if (m === null)
          throw new CliExit(
            EXIT.usage,
            `qood devnet start: --device: expected VEHICLE=<64 hex device public key>, got '${d}'`,
          );
        deviceKeys[m[1]!] = m[2]!.toLowerCase();
      }
      if (opts.broker === undefined && opts.device.length > 0)
        throw new CliExit(EXIT.usage, 'qood devnet start: --device needs --broker (the storage node uplink)');
      const [{ resolve }, fs, { spawn }] = await Promise.all([
        import('node:path'),
        import('node:fs'),
        import('node:child_process'),
      ]);
      const dir = resolve(opts.dir);
      const fresh = !fs.existsSync(`${dir}/genesis.yaml`);
      const httpUrl = (i: number) => `http://127.0.0.1:${basePort + 100 + i}`;
      if (fresh) {
        await writeDevnetFolder({
          dir,
          nodes,
          preset: opts.preset,
          listen: (i) => `127.0.0.1:${basePort + i}`,
          http: (i) => `127.0.0.1:${basePort + 100 + i}`,
          ...(opts.broker === undefined ? {} : { ingest: { broker: opts.broker, deviceKeys } }),
        });
      } else {
        for (let i = 0; i < nodes; i++)
          if (!fs.existsSync(devnetNodePaths(dir, i).config))
            throw new CliExit(
              EXIT.usage,
              `qood devnet start: ${dir} holds a devnet without node ${i}; use --nodes as when it was made, or a new --dir`,
            );
      }
      const cli = process.argv[1]!;
      const children = Array.from({ length: nodes }, (_, i) => {
        const p = devnetNodePaths(dir, i);
        const out = fs.openSync(p.log, 'a');
        const child = spawn(process.execPath, [cli, 'node', '-c', p.config], {
          stdio: ['ignore', out, out],
        });
        fs.closeSync(out);
        fs.writeFileSync(p.pid, `${child.pid}\n`);
        child.on('exit', (code, signal) => {
          if (!stopping)
            process.stderr.write(`node ${i} exited (${signal ?? `code ${code}`}); see ${p.log}\n`);
        });
        return child;
      });
      let stopping = false;
      const lines = [
        `devnet '${dir}' (${fresh ? 'new' : 'restarted'}): ${nodes} nodes, preset ${opts.preset}`,
        ...children.map(
          (c, i) =>
            `node ${i}: ${httpUrl(i)}  peers 127.0.0.1:${basePort + i}  pid ${c.pid}  log ${devnetNodePaths(dir, i).log}`,
        ),
        `funded account key: ${dir}/whale.key`,
        ...(opts.broker === undefined
          ? []
          : [
              `node 0 is the storage node and device link on ${opts.broker} (checkpoint: ${httpUrl(0)}/checkpoint)`,
            ]),
        'Ctrl-C stops the devnet',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      await new Promise<void>((done) => {
        const stop = (): void => {
          if (stopping) return;
          stopping = true;
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
          let left = alive.length;
          if (left === 0) done();
          const kill = setTimeout(() => {
            for (const c of alive) c.kill('SIGKILL');
          }, 5000);
          for (const c of alive) {
            c.once('exit', () => {
              if (--left === 0) {
                clearTimeout(kill);
                done();
              }
            });
            c.kill('SIGTERM');
          }
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      process.stdout.write('devnet stopped\n');
    });
}
