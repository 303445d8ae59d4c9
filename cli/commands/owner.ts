/**
 * `qood owner ...`: the owner's wallet on a laptop, over a node's HTTP API (market/owner-wallet.ts).
 *
 *   balance                                   the owner account's QDT, QDD, stake and nonce
 *   history [--blocks N]                      the owner's transactions in the last N final blocks
 *   register-vehicle --vehicle ID             register the vehicle to the owner key
 *   bind-device --vehicle ID --device HEX     bind a device key to the vehicle
 *   grant issue --vehicle ID --grantee HEX --kind K --scope S --valid-for D ... --out FILE
 *                                             sign the grant, put it on chain, write the bundle the
 *                                             device installs (qood grants install FILE, or with
 *                                             --broker URL its down/grant topic once final)
 *   revoke GRANT_ID [--broker URL --vehicle ID]
 *                                             revoke a grant on the device (its down/revoke topic)
 *                                             and on chain
 *   fund-device --device HEX --amount N [--token QDT|QDD]
 *                                             send the device tokens (QDT pays its anchoring fees)
 *
 * The owner key comes from `--seed-file` (the seed phrase, as `qood keys new` writes it) or
 * `--key-file` (the owner's ed25519 secret as 64 hex digits). Nonces come from the node; each
 * command that signs waits until its transaction is final, and believes that only when the light
 * client proves the effect against a finality certificate, started from `--checkpoint FILE` (from
 * `qood node checkpoint` on a node the owner trusts) or else from the node's own checkpoint on first
 * use, which stderr says once. Usage errors exit 2; a node's refusal or a failed check exits 1
 * naming its code.
 */
import type { Command } from 'commander';
import { CliExit, EXIT } from '../exit-codes.js';
import { type GrantTermOpts, grantSpec, grantTermOptions } from './grants.js';
import { readSeedFile } from './keys.js';
import { formatQdd, parseQdd } from './market.js';

const DEFAULT_NODE = 'http://127.0.0.1:26700';
const HEX32 = /^[0-9a-f]{64}$/;

type Market = typeof import('../../market/index.js');

interface Common {
  node: string;
  seedFile?: string;
  keyFile?: string;
  checkpoint?: string;
  json?: boolean;
  timeout: string;
}

function usage(cmd: string, message: string): never {
  throw new CliExit(EXIT.usage, `qood owner ${cmd}: ${message}`);
}

function hexArg(cmd: string, flag: string, v: string): string {
  if (!HEX32.test(v)) usage(cmd, `${flag} '${v}': expected 64 lowercase hex digits`);
  return v;
}

function common(c: Command): Command {
  return c
    .option('--node <url>', "a node's HTTP API", DEFAULT_NODE)
    .option('--seed-file <file>', "file with the owner's seed phrase")
    .option('--key-file <file>', "file with the owner's ed25519 secret key (64 hex digits)")
    .option(
      '--checkpoint <file>',
      "a light-client checkpoint the owner trusts (qood node checkpoint); default: the node's, on first use",
    )
    .option('--timeout <seconds>', 'how long a transaction may take to become final', '60')
    .option('--json', 'print one JSON object');
}

/** The owner's secret key from --seed-file or --key-file (exactly one). */
async function ownerSecret(cmd: string, o: Common): Promise<Uint8Array> {
  if ((o.seedFile === undefined) === (o.keyFile === undefined))
    usage(cmd, 'give the owner key as exactly one of --seed-file FILE or --key-file FILE');
  const chain = await import('../../chain/index.js');
  if (o.seedFile !== undefined) {
    let seed: Uint8Array;
    try {
      seed = readSeedFile(chain, o.seedFile);
    } catch (err) {
      if (err instanceof CliExit) usage(cmd, `--seed-file ${err.message}`);
      throw err;
    }
    return chain.ownerIdentity(seed).secretKey;
  }
  const { readKeyFile, KeyFileError } = await import('../../node/runtime/index.js');
  try {
    readKeyFile(o.keyFile!);
  } catch (err) {
    if (err instanceof KeyFileError) usage(cmd, `--key-file ${err.message}`);
    throw err;
  }
  const { readFileSync } = await import('node:fs');
  return new Uint8Array(Buffer.from(readFileSync(o.keyFile!, 'utf8').trim(), 'hex'));
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

async function wallet(cmd: string, o: Common) {
  if (!/^https?:\/\/[^\s/]+/.test(o.node))
    usage(cmd, `--node '${o.node}': expected a URL such as ${DEFAULT_NODE}`);
  const timeout = Number(o.timeout);
  if (!(timeout > 0) || !Number.isFinite(timeout))
    usage(cmd, `--timeout '${o.timeout}': expected a number of seconds > 0`);
  const secretKey = await ownerSecret(cmd, o);
  const checkpoint = o.checkpoint === undefined ? undefined : await checkpointArg(cmd, o.checkpoint);
  const market = await import('../../market/index.js');
  return {
    market,
    wallet: new market.OwnerWallet({
      nodeUrl: o.node,
      secretKey,
      finalTimeoutMs: timeout * 1000,
      ...(checkpoint === undefined ? {} : { checkpoint }),
      onNodeCheckpoint: (height) =>
        process.stderr.write(
          `qood owner ${cmd}: no --checkpoint: trusting the node's checkpoint at height ${height} on first use (write one with \`qood node checkpoint\` on a node you trust)\n`,
        ),
    }),
  };
}

/** Runs `run`, turning a MarketError into exit 1 with its code. */
async function guarded<T>(market: Market, cmd: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof market.MarketError)) throw err;
    if (err.code === 'BAD_ARGUMENT') usage(cmd, err.message);
    throw new CliExit(
      EXIT.failure,
      err.code === 'NODE_REFUSED'
        ? `qood owner ${cmd}: the node refused (${err.status} ${err.message})`
        : `qood owner ${cmd}: ${err.code}: ${err.message}`,
    );
  }
}

const json = (v: unknown) =>
  `${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x))}\n`;
const out = (s: string): void => {
  process.stdout.write(s);
};

/** What a final transaction prints: its id, kind and final height. */
function finalLine(t: { kind: string; txId: string; height: number; fee: bigint }): string {
  return `${t.kind} ${t.txId} final at height ${t.height}${t.fee > 0n ? ` (fee ${formatQdd(t.fee)} QDT)` : ''}\n`;
}

function txJson(t: { kind: string; txId: string; height: number; nonce: number; fee: bigint }) {
  return { kind: t.kind, txId: t.txId, height: t.height, nonce: t.nonce, fee: t.fee };
}

interface BrokerOpts {
  broker?: string;
  topicPrefix: string;
}

function brokerOptions(c: Command): Command {
  return c
    .option(
      '--broker <url>',
      "also deliver to the device over MQTT on its down topics (mqtt://host:1883; the broker the device's permissions use)",
    )
    .option('--topic-prefix <prefix>', 'with --broker: the permissions topic prefix', 'qood/v1');
}

/**
 * Publishes `payload` on the device's `down/<which>` topic (agent/permissions/topics.ts) and
 * returns the topic; a broker not reached in 10 s is a failure naming it.
 */
async function deliver(
  cmd: string,
  o: BrokerOpts,
  vehicleId: string,
  which: 'grant' | 'revoke',
  payload: Uint8Array,
): Promise<string> {
  const [{ openMqttUplink }, { permissionTopics }] = await Promise.all([
    import('../../agent/sync/index.js'),
    import('../../agent/permissions/index.js'),
  ]);
  const topic = permissionTopics(o.topicPrefix, vehicleId)[which];
  const link = openMqttUplink({
    url: o.broker!,
    clientId: `qood-owner-${process.pid}-${Date.now()}`,
    sessionExpirySec: 0,
  });
  try {
    const end = Date.now() + 10_000;
    while (!link.connected) {
      if (Date.now() > end)
        throw new CliExit(EXIT.failure, `qood owner ${cmd}: --broker ${o.broker}: not connected after 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await link.publish(topic, payload);
    return topic;
  } finally {
    await link.close();
  }
}

export function registerOwner(program: Command): void {
  const owner = program
    .command('owner')
    .description("the owner's wallet: register, bind, grant, revoke, fund a device, balance and history");

  common(owner.command('balance'))
    .description("the owner account's balances in the last final state, proven")
    .action(async (o: Common) => {
      const { market, wallet: w } = await wallet('balance', o);
      const b = await guarded(market, 'balance', () => w.balance());
      out(
        o.json
          ? json(b)
          : `owner ${b.address} at final height ${b.height}: ${formatQdd(b.qdt)} QDT, ${formatQdd(b.qdd)} QDD, ${formatQdd(b.staked)} QDT staked, nonce ${b.nonce}\n`,
      );
    });

  common(owner.command('history'))
    .description(
      "the owner's transactions and transfers to it in the last final blocks, checked against the certified head",
    )
    .option('--blocks <n>', 'how many final blocks back from the head to look', '1000')
    .action(async (o: Common & { blocks: string }) => {
      const n = Number(o.blocks);
      if (!/^\d+$/.test(o.blocks) || n < 1)
        usage('history', `--blocks '${o.blocks}': expected a whole number >= 1`);
      const { market, wallet: w } = await wallet('history', o);
      const h = await guarded(market, 'history', () => w.history(n));
      if (o.json) return out(json(h));
      if (h.entries.length === 0) out(`no transactions in final blocks ${h.fromHeight}..${h.toHeight}\n`);
      for (const e of h.entries)
        out(
          `${String(e.height).padStart(8)}  ${new Date(e.timeMs).toISOString()}  ${e.direction.padEnd(3)}  ${e.kind.padEnd(15)}  ${e.txId}\n`,
        );
    });

  common(owner.command('register-vehicle'))
    .description('register a vehicle to the owner key and wait until it is final')
    .requiredOption('--vehicle <id>', 'vehicle id (device.vehicleId)')
    .action(async (o: Common & { vehicle: string }) => {
      const { market, wallet: w } = await wallet('register-vehicle', o);
      const t = await guarded(market, 'register-vehicle', () => w.registerVehicle(o.vehicle));
      out(o.json ? json({ ...txJson(t), vehicle: t.vehicle }) : finalLine(t));
    });

  common(owner.command('bind-device'))
    .description("bind a device key (qood keys device) to the owner's vehicle and wait until it is final")
    .requiredOption('--vehicle <id>', 'vehicle id (device.vehicleId)')
    .requiredOption('--device <hex>', "the device's public key (64 hex digits)")
    .action(async (o: Common & { vehicle: string; device: string }) => {
      const device = hexArg('bind-device', '--device', o.device);
      const { market, wallet: w } = await wallet('bind-device', o);
      const t = await guarded(market, 'bind-device', () => w.bindDevice(o.vehicle, device));
      out(o.json ? json({ ...txJson(t), vehicle: t.vehicle, device }) : finalLine(t));
    });

  const grant = owner.command('grant').description('grants of access to the vehicle');
  grantTermOptions(
    brokerOptions(common(grant.command('issue')))
      .description(
        'sign a grant, put it on chain and write the bundle the device installs (qood grants install FILE)',
      )
      .requiredOption('--vehicle <id>', 'vehicle id (device.vehicleId)'),
  )
    .requiredOption('--out <file>', 'grant bundle file to write')
    .action(async (o: Common & GrantTermOpts & BrokerOpts & { vehicle: string; out: string }) => {
      if (o.broker !== undefined && !/^(mqtts?|wss?):\/\/[^\s/]+/.test(o.broker))
        usage('grant issue', `--broker '${o.broker}': expected a URL such as mqtt://127.0.0.1:1883`);
      const spec = await grantSpec(o);
      const [{ market, wallet: w }, perms, chain, { writeFileSync }] = await Promise.all([
        wallet('grant issue', o),
        import('../../agent/permissions/index.js'),
        import('../../chain/index.js'),
        import('node:fs'),
      ]);
      const terms = perms.encodeTerms(spec.terms);
      const r = await guarded(market, 'grant issue', async () => {
        const signed = await w.signGrant({
          vehicleId: o.vehicle,
          grantee: spec.grantee,
          kind: spec.kind,
          scope: o.scope,
          fromMs: spec.fromMs,
          toMs: spec.toMs,
          termsHash: perms.termsHash(terms),
          ...(spec.extension === undefined
            ? {}
            : { extension: { ...spec.extension, entryPaid: spec.terms.minPaid } }),
        });
        // The bundle is written before submitting: a grant final on chain always has its file.
        try {
          writeFileSync(o.out, perms.encodeGrantBundle(chain.encodeSignedTx(signed), terms));
        } catch (err) {
          usage(
            'grant issue',
            `--out ${o.out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
          );
        }
        return {
          ...(await w.submitGrant(signed)),
          bundle: perms.encodeGrantBundle(chain.encodeSignedTx(signed), terms),
        };
      });
      // Delivered once final: the grant is on chain before the device's records name it.
      const topic =
        o.broker === undefined ? undefined : await deliver('grant issue', o, o.vehicle, 'grant', r.bundle);
      if (o.json) out(json({ ...txJson(r), grantId: r.grantId, bundle: o.out, delivered: topic ?? null }));
      else {
        out(`${r.grantId}\n`);
        process.stderr.write(
          `grant ${r.grantId} final at height ${r.height}; bundle written to ${o.out}${topic === undefined ? ` (install it on the device: qood grants install ${o.out})` : ` and published on ${topic}`}\n`,
        );
      }
    });

  brokerOptions(common(owner.command('revoke')))
    .description(
      'revoke a grant on chain and wait until it is final; with --broker, on the device first (it refuses the grant at once)',
    )
    .argument('<grant-id>', 'the grant id (64 hex digits)')
    .option('--vehicle <id>', "with --broker: the vehicle's id (device.vehicleId), which names its topics")
    .action(async (id: string, o: Common & BrokerOpts & { vehicle?: string }) => {
      const grantId = hexArg('revoke', '<grant-id>', id.toLowerCase());
      if (o.broker !== undefined && !/^(mqtts?|wss?):\/\/[^\s/]+/.test(o.broker))
        usage('revoke', `--broker '${o.broker}': expected a URL such as mqtt://127.0.0.1:1883`);
      if (o.broker !== undefined && o.vehicle === undefined)
        usage('revoke', "--broker needs --vehicle ID (the device's topics are named by it)");
      const { market, wallet: w } = await wallet('revoke', o);
      const chain = await import('../../chain/index.js');
      const signed = await guarded(market, 'revoke', () => w.signRevoke(grantId));
      // The device first: it refuses the grant as soon as the signed revoke arrives, the chain
      // follows within a few blocks (and reaches a device that was offline when it comes back).
      const topic =
        o.broker === undefined
          ? undefined
          : await deliver('revoke', o, o.vehicle!, 'revoke', chain.encodeSignedTx(signed));
      if (topic !== undefined && !o.json) process.stderr.write(`revoke published on ${topic}\n`);
      const t = await guarded(market, 'revoke', () => w.submitRevoke(signed));
      out(
        o.json
          ? json({ ...txJson(t), grantId, revokedMs: t.grant.revokedMs, delivered: topic ?? null })
          : finalLine(t),
      );
    });

  common(owner.command('fund-device'))
    .description('send a device QDT (what pays its anchoring when its mana is short) or QDD')
    .requiredOption('--device <hex>', "the device's public key (64 hex digits)")
    .requiredOption('--amount <n>', 'how much, with up to 6 decimals, e.g. 2.5')
    .option('--token <token>', 'QDT or QDD', 'QDT')
    .action(async (o: Common & { device: string; amount: string; token: string }) => {
      const device = hexArg('fund-device', '--device', o.device);
      const amount = parseQdd(o.amount);
      if (amount === undefined)
        usage('fund-device', `--amount '${o.amount}': expected a positive amount with up to 6 decimals`);
      if (o.token !== 'QDT' && o.token !== 'QDD')
        usage('fund-device', `--token '${o.token}': expected QDT or QDD`);
      const { market, wallet: w } = await wallet('fund-device', o);
      const t = await guarded(market, 'fund-device', () =>
        w.fundDevice(device, amount, o.token as 'QDT' | 'QDD'),
      );
      out(o.json ? json({ ...txJson(t), device, amount, token: o.token }) : finalLine(t));
    });
}
