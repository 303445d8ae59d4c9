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
      const [{ resolve }, fs, { spawn }, { devnetNodePaths, writeDevnetFolder }] = await Promise.all([
        import('node:path'),
        import('node:fs'),
        import('node:child_process'),
        import('../../simulators/devnet/devnet-folder.js'),
      ]);
      const dir = resolve(opts.dir);
      const fresh = !fs.existsSync(`${dir}/genesis.yaml`);
      const httpUrl = (i: number) => `http://127.0.0.1:${basePort + 100 + i}`;
      if (fresh) {
        writeDevnetFolder({
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
