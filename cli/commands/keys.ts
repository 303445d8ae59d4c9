/**
 * `qood keys ...`: the owner's seed, the device key, pairing, and epoch keys for a buyer or for the
 * owner's own checks. The seed phrase is read from a file (never from the command line, where it
 * would land in shell history and `ps`), and nothing derived from it is written except what the
 * command names: a binding holds the vehicle root only wrapped to the device key.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliExit, EXIT } from '../exit-codes.js';

type Seal = typeof import('../../agent/seal/index.js');
type Chain = typeof import('../../chain/index.js');

async function load(): Promise<{ seal: Seal; chain: Chain }> {
  const [seal, chain] = await Promise.all([
    import('../../agent/seal/index.js'),
    import('../../chain/index.js'),
  ]);
  return { seal, chain };
}

/** Reads a seed phrase file; usage errors name the file and the problem. */
export function readSeedFile(chain: Chain, file: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliExit(
      EXIT.usage,
      `${file}: cannot read the seed file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  try {
    return chain.seedFromMnemonic(text);
  } catch (err) {
    if (err instanceof chain.SeedError) throw new CliExit(EXIT.usage, `${file}: ${err.message}`);
    throw err;
  }
}

function hexKey(chain: Chain, hex: string, what: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(hex))
    throw new CliExit(EXIT.usage, `${what}: expected 64 hex digits, got '${hex}'`);
  const key = chain.fromHex(hex.toLowerCase());
  try {
    chain.checkPublicKey(key);
  } catch (err) {
    throw new CliExit(EXIT.usage, `${what}: not an ed25519 public key (${(err as Error).message})`);
  }
  return key;
}

function positive(v: string, what: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n))
    throw new CliExit(EXIT.usage, `${what}: expected a number > 0, got '${v}'`);
  return n;
}

function time(v: string, what: string): number {
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v);
  if (!Number.isFinite(ms))
    throw new CliExit(EXIT.usage, `${what}: expected an ISO time or Unix seconds, got '${v}'`);
  return ms;
}

export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description("the owner's seed, the device key, pairing and epoch keys");

  keys
    .command('new-seed')
    .description('make a new 24-word seed phrase into a file only you can read; prints the owner public key')
    .requiredOption('--out <file>', 'where to write the phrase (refuses to overwrite)')
    .action(async (opts: { out: string }) => {
      const { chain } = await load();
      if (existsSync(opts.out))
        throw new CliExit(EXIT.usage, `${opts.out}: exists; a seed is never overwritten`);
      const phrase = chain.generateMnemonic();
      writeFileSync(opts.out, `${phrase}\n`, { mode: 0o600, flag: 'wx' });
      const owner = chain.ownerIdentity(chain.seedFromMnemonic(phrase));
      process.stdout.write(`owner public key ${chain.toHex(owner.publicKey)}\n`);
      process.stderr.write(
        `seed phrase written to ${opts.out}: write the 24 words down and keep them offline\n`,
      );
    });

  keys
    .command('owner')
    .description('print the owner public key of a seed')
    .requiredOption('--seed-file <file>', 'file with the seed phrase')
    .action(async (opts: { seedFile: string }) => {
      const { chain } = await load();
      process.stdout.write(
        `${chain.toHex(chain.ownerIdentity(readSeedFile(chain, opts.seedFile)).publicKey)}\n`,
      );
    });

  keys
    .command('device')
    .description("print this device's public key (made at first use, kept in DIR/device.key)")
    .requiredOption('--data-dir <dir>', "the agent's data folder (device.dataDir)")
    .action(async (opts: { dataDir: string }) => {
      const { seal, chain } = await load();
      mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
      process.stdout.write(`${chain.toHex(seal.loadOrCreateDeviceKey(opts.dataDir).publicKey)}\n`);
    });

  keys
    .command('pair')
    .description('bind a device to a vehicle: sign a binding that hands the device the vehicle data root')
    .requiredOption('--seed-file <file>', 'file with the seed phrase')
    .requiredOption('--vehicle <id>', 'vehicle id (device.vehicleId in the agent config)')
    .option('--data-dir <dir>', 'on the device: read its key here and install the binding here')
    .option('--device-pub <hex>', "elsewhere: the device's public key (from `qood keys device`)")
    .option('--out <file>', 'with --device-pub: where to write the binding')
    .option('--oem-pub <hex>', "the carmaker's public key, for OEM-class and disputed data")
    .option('--epoch-hours <n>', 'length of a key epoch (what one sold key opens)', '24')
    .action(
      async (opts: {
        seedFile: string;
        vehicle: string;
        dataDir?: string;
        devicePub?: string;
        out?: string;
        oemPub?: string;
        epochHours: string;
      }) => {
        const { seal, chain } = await load();
        if ((opts.dataDir === undefined) === (opts.devicePub === undefined))
          throw new CliExit(
            EXIT.usage,
            'qood keys pair: give either --data-dir (on the device) or --device-pub with --out',
          );
        if (opts.devicePub !== undefined && opts.out === undefined)
          throw new CliExit(EXIT.usage, 'qood keys pair: --device-pub needs --out FILE');
        const seed = readSeedFile(chain, opts.seedFile);
        if (opts.dataDir !== undefined) mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
        const device = opts.dataDir !== undefined ? seal.loadOrCreateDeviceKey(opts.dataDir) : undefined;
        const devicePublicKey = device?.publicKey ?? hexKey(chain, opts.devicePub!, '--device-pub');
        const bytes = chain.createBinding({
          vehicleId: opts.vehicle,
          devicePublicKey,
          ownerSecretKey: chain.ownerIdentity(seed).secretKey,
          dataRoot: chain.vehicleDataRoot(seed, opts.vehicle),
          oemPublicKey: opts.oemPub === undefined ? null : hexKey(chain, opts.oemPub, '--oem-pub'),
          epochLengthS: Math.round(positive(opts.epochHours, '--epoch-hours') * 3600),
          issuedMs: Date.now(),
        });
        if (device !== undefined) {
          seal.installBinding(opts.dataDir!, bytes, device, opts.vehicle);
          process.stdout.write(
            `paired device ${chain.toHex(device.publicKey)} with vehicle ${opts.vehicle}\n`,
          );
        } else {
          writeFileSync(opts.out!, bytes);
          process.stdout.write(
            `binding for device ${opts.devicePub} written to ${opts.out}; install it with qood keys install\n`,
          );
        }
      },
    );

  keys
    .command('install')
    .description('install a binding made elsewhere, after checking it against this device')
    .argument('<binding>', 'binding file from `qood keys pair --out`')
    .requiredOption('--data-dir <dir>', "the agent's data folder")
    .requiredOption('--vehicle <id>', 'vehicle id (device.vehicleId)')
    .action(async (file: string, opts: { dataDir: string; vehicle: string }) => {
      const { seal } = await load();
      const device = seal.loadOrCreateDeviceKey(opts.dataDir);
      try {
        seal.installBinding(opts.dataDir, readFileSync(file), device, opts.vehicle);
      } catch (err) {
        if (err instanceof seal.DeviceIdentityError) throw new CliExit(EXIT.usage, err.message);
        throw err;
      }
      process.stdout.write(`binding installed in ${opts.dataDir}\n`);
    });

  keys
    .command('export')
    .description(
      'owner-class epoch keys of streams over a time range, as a keys file for qood verify or a buyer',
    )
    .requiredOption('--seed-file <file>', 'file with the seed phrase')
    .requiredOption('--vehicle <id>', 'vehicle id')
    .requiredOption('--stream <name...>', 'stream ids (as in the descriptor)')
    .requiredOption('--from <time>', 'start (ISO time or Unix seconds)')
    .requiredOption('--to <time>', 'end (ISO time or Unix seconds)')
    .option('--epoch-hours <n>', 'key epoch length the device was paired with', '24')
    .requiredOption('--out <file>', 'keys file to write (mode 0600)')
    .action(
      async (opts: {
        seedFile: string;
        vehicle: string;
        stream: string[];
        from: string;
        to: string;
        epochHours: string;
        out: string;
      }) => {
        const { chain } = await load();
        const root = chain.vehicleDataRoot(readSeedFile(chain, opts.seedFile), opts.vehicle);
        const epochLengthS = Math.round(positive(opts.epochHours, '--epoch-hours') * 3600);
        const first = chain.keyEpochOf(time(opts.from, '--from') * 1000, epochLengthS);
        const last = chain.keyEpochOf(time(opts.to, '--to') * 1000, epochLengthS);
        if (last < first) throw new CliExit(EXIT.usage, '--to is before --from');
        if (last - first > 366 * 24) throw new CliExit(EXIT.usage, 'at most 8784 epochs per keys file');
        const out: { stream: string; class: string; epoch: number; key: string }[] = [];
        for (const stream of opts.stream)
          for (let e = first; e <= last; e++)
            out.push({
              stream,
              class: 'owner',
              epoch: e,
              key: chain.toHex(chain.ownerEpochKey(root, stream, e)),
            });
        writeFileSync(
          opts.out,
          `${JSON.stringify({ vehicleId: opts.vehicle, epochLengthS, keys: out }, null, 1)}\n`,
          { mode: 0o600 },
        );
        process.stdout.write(`${out.length} keys written to ${opts.out}\n`);
      },
    );
}
