/**
 * `qood market ...`: the buyer's tools over a storage node's HTTP API (the market/ API).
 *
 *   keygen --out FILE                         a new buyer account key (64 hex, mode 0600)
 *   list   [--vehicle --dictionary --from --to --location --root --after --limit] [--json]
 *   buy    --descriptor ID --price QDD [--expires-in BLOCKS] [--wait [--timeout S]]
 *   status --order ID [--json]
 *   fetch  --order ID --out FILE [--json]     checked, decrypted samples as JSON lines
 *   split  --order ID [--json]
 *
 * Every command takes `--node URL` (default: node 0 of `qood devnet start`); those that sign take
 * `--key FILE`. Every chain record is checked with a light client started from `--checkpoint FILE`
 * (from `qood node checkpoint` on a node the buyer trusts); without it the node's own checkpoint is
 * taken on first use, and stderr says so once. Usage errors exit 2; a node's refusal or a failed
 * check exits 1 naming its code.
 */
import type { Command } from 'commander';
import { CliExit, EXIT } from '../exit-codes.js';

const DEFAULT_NODE = 'http://127.0.0.1:26700';
const HEX32 = /^[0-9a-f]{64}$/;

type Market = typeof import('../../market/index.js');

interface Common {
  node: string;
  key?: string;
  checkpoint?: string;
  json?: boolean;
}

/** QDD with up to 6 decimals as base units; undefined when not a positive amount. */
export function parseQdd(text: string): bigint | undefined {
  const m = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (m === null) return undefined;
  const units = BigInt(m[1]!) * 1_000_000n + BigInt((m[2] ?? '').padEnd(6, '0'));
  return units > 0n ? units : undefined;
}

/** Base units as QDD, without trailing zeros ("7", "1.5"). */
export function formatQdd(units: bigint): string {
  const whole = units / 1_000_000n;
  const frac = (units % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return frac === '' ? whole.toString() : `${whole}.${frac}`;
}

function usage(cmd: string, message: string): never {
  throw new CliExit(EXIT.usage, `qood market ${cmd}: ${message}`);
}

function hexArg(cmd: string, flag: string, v: string): string {
  if (!HEX32.test(v)) usage(cmd, `${flag} '${v}': expected 64 lowercase hex digits`);
  return v;
}

/** A time given as ms since the epoch or an ISO 8601 date. */
function timeArg(cmd: string, flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) usage(cmd, `${flag} '${v}': expected ms since the epoch or an ISO 8601 time`);
  return n;
}

function intArg(cmd: string, flag: string, v: string | undefined, min: number, max: number) {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) usage(cmd, `${flag} '${v}': expected ${min} to ${max}`);
  return n;
}

async function client(cmd: string, opts: Common, needKey: boolean) {
  if (!/^https?:\/\/[^\s/]+/.test(opts.node))
    usage(cmd, `--node '${opts.node}': expected a URL such as ${DEFAULT_NODE}`);
  const [market, { readKeyFile, KeyFileError }, { readFileSync }] = await Promise.all([
    import('../../market/index.js'),
    import('../../node/runtime/index.js'),
    import('node:fs'),
  ]);
  let secretKey: Uint8Array | undefined;
  if (opts.key !== undefined) {
    try {
      readKeyFile(opts.key);
    } catch (err) {
      if (err instanceof KeyFileError) usage(cmd, `--key ${err.message}`);
      throw err;
    }
    secretKey = new Uint8Array(Buffer.from(readFileSync(opts.key, 'utf8').trim(), 'hex'));
  } else if (needKey)
    usage(cmd, "--key FILE: the buyer's account key is needed (qood market keygen makes one)");
  const checkpoint = opts.checkpoint === undefined ? undefined : await checkpointArg(cmd, opts.checkpoint);
  return {
    market,
    client: new market.MarketClient({
      nodeUrl: opts.node,
      ...(secretKey === undefined ? {} : { secretKey }),
      ...(checkpoint === undefined ? {} : { checkpoint }),
      onNodeCheckpoint: (height) =>
        process.stderr.write(
          `qood market ${cmd}: no --checkpoint: trusting the node's checkpoint at height ${height} on first use (write one with \`qood node checkpoint\` on a node you trust)\n`,
        ),
    }),
  };
}

/** The bytes of a checkpoint file, checked to decode as one; a usage error naming the file if not. */
async function checkpointArg(cmd: string, file: string): Promise<Uint8Array> {
  const [{ readFileSync }, chain] = await Promise.all([import('node:fs'), import('../../chain/index.js')]);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (err) {
    usage(
      cmd,
      `--checkpoint '${file}': expected a readable checkpoint file, got ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  try {
    chain.decodeCheckpoint(bytes);
  } catch (err) {
    if (!(err instanceof chain.LightError || err instanceof chain.CodecError)) throw err;
    usage(
      cmd,
      `--checkpoint '${file}': expected a light-client checkpoint (qood node checkpoint --out FILE), got one that does not decode: ${err.message}`,
    );
  }
  return bytes;
}

/** Runs `run`, turning a MarketError into exit 1 with its code. */
async function guarded<T>(market: Market, cmd: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof market.MarketError)) throw err;
    const lines = [
      err.code === 'NODE_REFUSED'
        ? `qood market ${cmd}: the node refused (${err.status} ${err.message})`
        : `qood market ${cmd}: ${err.code}: ${err.message}`,
      ...err.problems.map((p) => `  ${p}`),
    ];
    throw new CliExit(EXIT.failure, lines.join('\n'));
  }
}

const json = (v: unknown) =>
  `${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x))}\n`;
const out = (s: string): void => {
  process.stdout.write(s);
};

function common(c: Command, withKey: boolean): Command {
  c.option('--node <url>', "the storage node's HTTP API", DEFAULT_NODE);
  c.option(
    '--checkpoint <file>',
    "a light-client checkpoint the buyer trusts (qood node checkpoint); default: the node's, on first use",
  );
  if (withKey) c.option('--key <file>', "the buyer's account key (64 hex digits)");
  return c;
}

export function registerMarket(program: Command): void {
  const market = program
    .command('market')
    .description("the buyer's tools: list data sets, buy, fetch, verify and decrypt, see the payment split");

  market
    .command('keygen')
    .description(
      'write a new buyer account key (an ed25519 secret as 64 hex digits, mode 0600); print its address',
    )
    .requiredOption('--out <file>', 'where to write the key (must not exist)')
    .action(async (opts: { out: string }) => {
      const { newNodeSecret, writeKeyFile } = await import('../../node/runtime/index.js');
      const { getPublicKey, toHex } = await import('../../chain/index.js');
      const secret = newNodeSecret();
      try {
        writeKeyFile(opts.out, secret);
      } catch (err) {
        usage(
          'keygen',
          `--out ${opts.out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
      out(`${toHex(getPublicKey(secret))}\n`);
    });

  common(market.command('list'), false)
    .description('list descriptors a storage node holds, with the chain id to order by')
    .option('--vehicle <id>', "a vehicle's id")
    .option('--dictionary <id>', 'a data dictionary id')
    .option('--from <time>', 'overlapping this time or later (ms or ISO 8601)')
    .option('--to <time>', 'overlapping this time or earlier (ms or ISO 8601)')
    .option('--location <prefix>', 'coarse location prefix, e.g. 47.4,8.5')
    .option('--root <hex>', 'a Merkle root')
    .option('--after <n>', "continue after this listing position (the previous page's next)")
    .option('--limit <n>', 'at most this many (1 to 1000)', '100')
    .option('--json', 'print the page as one JSON object')
    .action(
      async (
        opts: Common & {
          vehicle?: string;
          dictionary?: string;
          from?: string;
          to?: string;
          location?: string;
          root?: string;
          after?: string;
          limit: string;
        },
      ) => {
        const fromMs = timeArg('list', '--from', opts.from);
        const toMs = timeArg('list', '--to', opts.to);
        const after = intArg('list', '--after', opts.after, 0, Number.MAX_SAFE_INTEGER);
        const limit = intArg('list', '--limit', opts.limit, 1, 1000);
        if (opts.root !== undefined) hexArg('list', '--root', opts.root);
        const { market: m, client: c } = await client('list', opts, false);
        const page = await guarded(m, 'list', () =>
          c.listDescriptors({
            ...(opts.vehicle === undefined ? {} : { vehicle: opts.vehicle }),
            ...(opts.dictionary === undefined ? {} : { dictionary: opts.dictionary }),
            ...(fromMs === undefined ? {} : { fromMs }),
            ...(toMs === undefined ? {} : { toMs }),
            ...(opts.location === undefined ? {} : { location: opts.location }),
            ...(opts.root === undefined ? {} : { root: opts.root }),
            ...(after === undefined ? {} : { after }),
            ...(limit === undefined ? {} : { limit }),
          }),
        );
        if (opts.json) return out(json(page));
        for (const d of page.descriptors)
          out(
            `${d.anchor ?? '(not anchored yet)'}  ${d.vehicleId}  ${d.dataClass}${d.privacy === 'private' ? ' (private: not for sale)' : ''}  ${new Date(d.fromMs).toISOString()} .. ${new Date(d.toMs).toISOString()}  ${d.coarseLocation ?? '-'}  ${d.chunkCount} chunks  ${d.dictionary}  descriptor ${d.id}\n`,
          );
        process.stderr.write(
          `${page.descriptors.length} descriptor(s); final height ${page.finalHeight}, anchors indexed through ${page.indexedHeight}${page.next === null ? '' : `; more with --after ${page.next}`}\n`,
        );
      },
    );

  common(market.command('buy'), true)
    .description('place a buy order for an anchored descriptor, escrowing the price in QDD')
    .requiredOption('--descriptor <id>', 'the chain descriptor id (the anchor `list` shows)')
    .requiredOption('--price <qdd>', 'price in QDD (up to 6 decimals)')
    .option('--expires-in <blocks>', 'the order expires this many blocks after the head', '7200')
    .option('--wait', 'wait until the order is filled in a final block')
    .option('--timeout <s>', 'with --wait: give up after this many seconds', '120')
    .action(
      async (
        opts: Common & {
          descriptor: string;
          price: string;
          expiresIn: string;
          wait?: boolean;
          timeout: string;
        },
      ) => {
        hexArg('buy', '--descriptor', opts.descriptor);
        const price = parseQdd(opts.price);
        if (price === undefined)
          usage('buy', `--price '${opts.price}': expected a positive QDD amount such as 5 or 1.25`);
        const expires = intArg('buy', '--expires-in', opts.expiresIn, 1, 10_000_000)!;
        const timeoutS = intArg('buy', '--timeout', opts.timeout, 1, 86_400)!;
        const { market: m, client: c } = await client('buy', opts, true);
        const placed = await guarded(m, 'buy', () => c.order(opts.descriptor, price, expires));
        out(`order ${placed.orderId}\n`);
        process.stderr.write(
          `buy order for ${formatQdd(price)} QDD sent (nonce ${placed.nonce}, fee ${formatQdd(placed.fee)} QDT, expires at height ${placed.expiresHeight})\n`,
        );
        if (!opts.wait) return;
        const order = await guarded(m, 'buy', () => c.waitForFill(placed.orderId, timeoutS * 1000));
        out(`filled at height ${order.filledHeight}\n`);
      },
    );

  common(market.command('status'), false)
    .description('an order as the final chain holds it')
    .requiredOption('--order <id>', 'the order id')
    .option('--json', 'one JSON object')
    .action(async (opts: Common & { order: string }) => {
      hexArg('status', '--order', opts.order);
      const { market: m, client: c } = await client('status', opts, false);
      const s = await guarded(m, 'status', () => c.orderStatus(opts.order));
      if (opts.json) return out(json(s));
      const o = s.order;
      if (o === undefined) {
        out(`order ${opts.order}: not in the final chain (height ${s.height}) yet\n`);
        process.exitCode = EXIT.failure;
        return;
      }
      const state =
        o.filledHeight > 0
          ? `filled at height ${o.filledHeight} (${o.delivery.length > 0 ? 'keys revealed' : 'paid; keys not revealed yet'})`
          : o.open
            ? 'open'
            : 'cancelled';
      out(
        `order ${opts.order}: ${o.side} ${formatQdd(o.price)} QDD for descriptor ${o.descriptor}, ${state}; expires at height ${o.expiresHeight}; maker ${o.maker}\n`,
      );
    });

  common(market.command('fetch'), true)
    .description("fetch a filled order's chunks, check them against the chain, decrypt them into a file")
    .requiredOption('--order <id>', 'the order id')
    .requiredOption('--out <file>', 'where to write the samples (JSON lines)')
    .option('--json', 'print the summary as one JSON object')
    .action(async (opts: Common & { order: string; out: string }) => {
      hexArg('fetch', '--order', opts.order);
      const { market: m, client: c } = await client('fetch', opts, true);
      const p = await guarded(m, 'fetch', () => c.verifyAndDecrypt(opts.order));
      const { writeFileSync } = await import('node:fs');
      try {
        writeFileSync(
          opts.out,
          p.samples.map((s) => JSON.stringify(s)).join('\n') + (p.samples.length > 0 ? '\n' : ''),
        );
      } catch (err) {
        throw new CliExit(EXIT.failure, `qood market fetch: ${opts.out}: ${(err as Error).message}`);
      }
      const summary = {
        order: p.orderId,
        descriptor: p.descriptorId,
        chainDescriptor: p.chainDescriptorId,
        vehicle: p.vehicleId,
        dictionary: p.dictionary,
        chunks: p.chunks.length,
        samples: p.samples.length,
        samplesPerSignal: p.samplesPerSignal,
        checked: p.checks,
        out: opts.out,
      };
      if (opts.json) return out(json(summary));
      out(
        [
          `OK order ${p.orderId}: ${p.chunks.length} chunks, ${p.samples.length} samples of vehicle ${p.vehicleId} written to ${opts.out}`,
          ...Object.entries(p.samplesPerSignal).map(([path, n]) => `  ${path}: ${n} samples`),
          'checked:',
          ...p.checks.map((x) => `  ${x}`),
          '',
        ].join('\n'),
      );
    });

  common(market.command('split'), false)
    .description("how an order's price was split between the agreement's parties")
    .requiredOption('--order <id>', 'the order id')
    .option('--json', 'one JSON object')
    .action(async (opts: Common & { order: string }) => {
      hexArg('split', '--order', opts.order);
      const { market: m, client: c } = await client('split', opts, false);
      const s = await guarded(m, 'split', () => c.split(opts.order));
      if (opts.json) return out(json(s));
      out(
        `order ${s.orderId}: ${formatQdd(s.price)} QDD, ${s.filled ? `paid out at height ${s.filledHeight}` : 'not filled: nothing paid yet'} (agreement ${s.agreement})\n`,
      );
      for (const x of s.shares)
        out(
          `  ${x.role.padEnd(5)} ${x.party}  ${String(x.bps).padStart(5)} bps  ${formatQdd(x.amount)} QDD  (balance ${formatQdd(x.balance)} QDD)\n`,
        );
    });
}
