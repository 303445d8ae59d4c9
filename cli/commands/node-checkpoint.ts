/**
 * `qood node checkpoint --out FILE (--api URL | -c node.yaml)`: fetches GET /checkpoint from a
 * node's HTTP API (its URL, or the `chain.http` address of a node config), checks that the bytes
 * decode as a light-client checkpoint, and writes them to FILE: what a device's `chain.checkpoint`
 * names. The device then trusts that node for its starting point, and only quorum-signed updates
 * after it.
 */
import type { Command } from 'commander';
import { CliExit, EXIT } from '../exit-codes.js';

interface CheckpointOpts {
  out: string;
  api?: string;
  config?: string;
  timeoutMs: string;
}

/** Adds `checkpoint` to the `node` command. */
export function registerNodeCheckpoint(node: Command): void {
  node
    .command('checkpoint')
    .description("write a light-client checkpoint of a node's last final block, for a device's chain section")
    .requiredOption('--out <file>', 'checkpoint file to write')
    .option('--api <url>', "the node's HTTP API, e.g. http://127.0.0.1:26700")
    .option('-c, --config <file>', 'node config file whose chain.http names the API')
    .option('--timeout-ms <ms>', 'give up after this long', '10000')
    .action(async (o: CheckpointOpts, cmd: Command) => {
      // Commander gives `-c` after the subcommand to `qood node` itself: take it from there when typed.
      const parent = cmd.parent;
      if (o.config === undefined && parent?.getOptionValueSource('config') === 'cli')
        o.config = String(parent.opts().config);
      const timeoutMs = Number(o.timeoutMs);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
        throw new CliExit(EXIT.usage, `--timeout-ms: expected a positive integer, got '${o.timeoutMs}'`);
      let api = o.api;
      if (api === undefined) {
        if (o.config === undefined)
          throw new CliExit(EXIT.usage, 'qood node checkpoint: give --api URL or -c node.yaml');
        const { loadNodeConfig } = await import('../load-config.js');
        const http = loadNodeConfig(o.config).chain?.http;
        if (http === undefined)
          throw new CliExit(
            EXIT.usage,
            `qood node checkpoint: ${o.config} has no chain.http (the node serves no API)`,
          );
        api = `http://${http}`;
      }
      if (!/^https?:\/\/[^\s/]+/.test(api))
        throw new CliExit(EXIT.usage, `--api: expected a URL such as http://127.0.0.1:26700, got '${api}'`);
      const [{ decodeCheckpoint, headerId, toHex }, { writeFileSync, renameSync }] = await Promise.all([
        import('../../chain/index.js'),
        import('node:fs'),
      ]);
      const url = `${api.replace(/\/+$/, '')}/checkpoint`;
      let res: Response;
      try {
        res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        throw new CliExit(EXIT.failure, `qood node checkpoint: ${url}: ${(err as Error).message}`);
      }
      const body = (await res.json().catch(() => undefined)) as
        | { bytes?: unknown; error?: { code?: string; message?: string } }
        | undefined;
      if (!res.ok || typeof body?.bytes !== 'string')
        throw new CliExit(
          EXIT.failure,
          `qood node checkpoint: ${url}: HTTP ${res.status}${body?.error === undefined ? '' : ` ${body.error.code}: ${body.error.message}`}`,
        );
      const bytes = new Uint8Array(Buffer.from(body.bytes, 'hex'));
      let cp: ReturnType<typeof decodeCheckpoint>;
      try {
        cp = decodeCheckpoint(bytes);
      } catch (err) {
        throw new CliExit(
          EXIT.failure,
          `qood node checkpoint: ${url} answered something else: ${(err as Error).message}`,
        );
      }
      const tmp = `${o.out}.tmp`;
      writeFileSync(tmp, bytes);
      renameSync(tmp, o.out);
      process.stdout.write(
        `checkpoint at final height ${cp.header.height} (block ${toHex(headerId(cp.header)).slice(0, 16)}..., ${cp.schedule.length} producer${cp.schedule.length === 1 ? '' : 's'}${cp.next.join() !== cp.schedule.join() ? ', next schedule pending' : ''}) written to ${o.out}\n`,
      );
    });
}
