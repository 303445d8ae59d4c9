/**
 * `qood verify`: what a buyer runs on a purchase. Checks the descriptor, every chunk's signature,
 * hash and place in its stream's hash chain, the Merkle root, then decrypts with the keys it was
 * sold and says exactly what failed. Exit 0 when everything checks, 1 when anything does not.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliExit, EXIT } from '../exit-codes.js';
import { readSeedFile } from './keys.js';

interface VerifyOpts {
  descriptor: string;
  keys?: string;
  seedFile?: string;
  chunks?: string;
  json?: boolean;
  samples?: boolean;
}

function readOrUsage(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CliExit(
      EXIT.usage,
      `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('check and decrypt a batch of chunks against its descriptor, as a buyer does')
    .argument('[chunks...]', 'sealed chunk files')
    .requiredOption('--descriptor <file>', 'the signed descriptor of the batch')
    .option('--keys <file>', 'keys file (from a purchase, or `qood keys export`)')
    .option('--seed-file <file>', "the owner's seed phrase, to check one's own data")
    .option('--chunks <dir>', 'a folder of sealed chunk files (*.chunk)')
    .option('--json', 'one JSON object: ok, problems, chunks, and the samples with --samples')
    .option('--samples', 'print the decrypted samples (JSON lines, or in the --json object)')
    .action(async (files: string[], opts: VerifyOpts) => {
      const [seal, chain] = await Promise.all([
        import('../../chain/index.js'),
        import('../../chain/index.js'),
      ]);
      if ((opts.keys === undefined) === (opts.seedFile === undefined))
        throw new CliExit(EXIT.usage, 'qood verify: give --keys FILE or --seed-file FILE');
      const chunkFiles = [...files];
      if (opts.chunks !== undefined) {
        if (!statSync(opts.chunks, { throwIfNoEntry: false })?.isDirectory())
          throw new CliExit(EXIT.usage, `--chunks: ${opts.chunks} is not a folder`);
        for (const f of readdirSync(opts.chunks).sort())
          if (f.endsWith('.chunk')) chunkFiles.push(join(opts.chunks, f));
      }
      if (chunkFiles.length === 0) throw new CliExit(EXIT.usage, 'qood verify: no chunk files given');
      let lookup: import('../../chain/index.js').KeyLookup;
      if (opts.keys !== undefined) {
        let doc: { keys?: { stream: string; class: string; epoch: number; key: string }[] };
        try {
          doc = JSON.parse(readOrUsage(opts.keys).toString('utf8'));
        } catch (err) {
          if (err instanceof CliExit) throw err;
          throw new CliExit(EXIT.usage, `${opts.keys}: not JSON (${(err as Error).message})`);
        }
        if (!Array.isArray(doc.keys))
          throw new CliExit(
            EXIT.usage,
            `${opts.keys}: expected {"keys": [{"stream","class","epoch","key"}, ...]}`,
          );
        const map = new Map<string, Uint8Array>();
        doc.keys.forEach((k, i) => {
          if (
            typeof k?.stream !== 'string' ||
            typeof k.class !== 'string' ||
            !Number.isInteger(k.epoch) ||
            !/^[0-9a-f]{64}$/.test(String(k.key))
          )
            throw new CliExit(
              EXIT.usage,
              `${opts.keys}: keys[${i}]: expected {"stream": text, "class": text, "epoch": integer, "key": 64 hex digits}`,
            );
          map.set(`${k.stream}/${k.class}/${k.epoch}`, chain.fromHex(k.key));
        });
        lookup = (s, c, e) => map.get(`${s}/${c}/${e}`);
      } else {
        const seed = readSeedFile(seal, opts.seedFile!);
        const d = chain.openDescriptor(readOrUsage(opts.descriptor)).descriptor;
        const root = seal.vehicleDataRoot(seed, d.vehicleId);
        lookup = (s, c, e) => (c === 'owner' ? seal.ownerEpochKey(root, s, e) : undefined);
      }
      const report = seal.verifyBatch({
        descriptor: readOrUsage(opts.descriptor),
        chunks: chunkFiles.map(readOrUsage),
        keys: lookup,
      });
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ ok: report.ok, descriptorId: report.descriptorId, problems: report.problems, chunks: report.chunks, ...(opts.samples ? { samples: report.samples } : {}) })}\n`,
        );
      } else {
        if (opts.samples) for (const s of report.samples) process.stdout.write(`${JSON.stringify(s)}\n`);
        for (const p of report.problems) process.stderr.write(`FAIL ${p}\n`);
        const n = report.samples.length;
        process.stderr.write(
          report.ok
            ? `OK descriptor ${report.descriptorId}: ${report.chunks.length} chunks, ${n} samples, signatures, hash chains and Merkle root check\n`
            : `${report.problems.length} problem(s); ${report.chunks.length} chunks (${n} samples) passed every check\n`,
        );
      }
      if (!report.ok) process.exitCode = EXIT.failure;
    });
}
