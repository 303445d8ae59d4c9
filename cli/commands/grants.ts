/**
 * `qood grants ...` and `qood audit`: the owner's view of who may listen to the car and command it.
 *
 * - `issue` (the owner's machine, or a developer's): signs a grant with the seed's owner key and
 *   writes the bundle to a file; nothing is sent anywhere. A listen grant may carry the owner's
 *   extension terms (`--price-per-hour` with `--latest-end`): the grantee can then move its end
 *   with `listenerPay`, paying that price per hour added, never past the latest end.
 * - `install`, `list`, `show`, `revoke` and `audit` talk to the running agent over its local
 *   socket (root or the owner group). `revoke` takes effect before it returns. With `--seed-file`
 *   (and the owner account's `--nonce`), the revoke transaction is signed here and queued ready
 *   for the chain; without it the agent queues a revoke request for the owner's wallet to sign.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliExit, EXIT } from '../exit-codes.js';
import { readSeedFile } from './keys.js';

const DEFAULT_SOCKET = '/run/qood/agent.sock';

async function call(socket: string, method: string, params: Record<string, unknown> = {}): Promise<unknown> {
  const { callLocalApi } = await import('../../process/local-api/client.js');
  try {
    return await callLocalApi(socket, method, params);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new CliExit(
      code === 'INVALID_PARAMS' ? EXIT.usage : EXIT.failure,
      `qood: ${(err as Error).message}`,
    );
  }
}

/** `90s`, `30m`, `1h`, `7d` or plain ms, to ms. */
export function parseDuration(v: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(v.trim());
  if (m === null)
    throw new CliExit(EXIT.usage, `${what}: expected a duration such as 90s, 30m, 1h or 7d, got '${v}'`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms']!;
  const ms = Math.round(Number(m[1]) * unit);
  if (!(ms > 0)) throw new CliExit(EXIT.usage, `${what}: expected a duration > 0`);
  return ms;
}

/** A whole number of QDD base units, >= 0. */
function baseUnits(v: string, what: string): bigint {
  if (!/^\d+$/.test(v.trim()))
    throw new CliExit(EXIT.usage, `${what}: expected a whole number of QDD base units >= 0, got '${v}'`);
  return BigInt(v.trim());
}

/** An ISO time or Unix seconds, to ms; `what` names the option in the error. */
function parseTime(v: string, what: string): number {
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v);
  if (!Number.isFinite(ms))
    throw new CliExit(EXIT.usage, `${what}: expected an ISO time or Unix seconds, got '${v}'`);
  return ms;
}

function num(v: string, what: string, min = 0): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min)
    throw new CliExit(EXIT.usage, `${what}: expected a number >= ${min}, got '${v}'`);
  return n;
}

/** The grant term options (grantTermOptions). */
export interface GrantTermOpts {
  grantee: string;
  kind: string;
  scope: string[];
  validFor: string;
  from?: string;
  rateHz?: string;
  granularity: string[];
  maxCommands?: string;
  condition: string[];
  whileEngineRunning?: boolean;
  pull?: boolean;
  minPaid?: string;
  pricePerHour?: string;
  latestEnd?: string;
}

interface IssueOpts extends GrantTermOpts {
  seedFile: string;
  vehicle: string;
  chainId?: string;
  nonce: string;
  out: string;
}

const collect = (v: string, prev: string[]) => [...prev, ...v.split(',').filter((s) => s !== '')];
const collectWhole = (v: string, prev: string[]) => [...prev, v];

function fmtTime(ms: unknown): string {
  return typeof ms === 'number' ? new Date(ms).toISOString().replace('.000Z', 'Z') : '-';
}

/**
 * The owner's extension terms from `--price-per-hour` and `--latest-end`, or undefined when neither
 * is given. Both or neither: a latest end without a price would let the grantee extend for free, a
 * price without a latest end has no bound. The chain refuses a latest end before the grant's end
 * (MALFORMED), so that is refused here first, with the option named.
 */
function extensionTerms(
  o: GrantTermOpts,
  toMs: number,
): { pricePerHour: bigint; latestEndMs: number } | undefined {
  if (o.pricePerHour === undefined && o.latestEnd === undefined) return undefined;
  if (o.kind !== 'listen')
    throw new CliExit(
      EXIT.usage,
      `${o.pricePerHour === undefined ? '--latest-end' : '--price-per-hour'}: extension terms are for listen grants, got --kind ${o.kind}`,
    );
  if (o.latestEnd === undefined)
    throw new CliExit(
      EXIT.usage,
      '--price-per-hour: expected --latest-end too (the latest end an extension may reach)',
    );
  if (o.pricePerHour === undefined)
    throw new CliExit(
      EXIT.usage,
      '--latest-end: expected --price-per-hour too (what an hour of extension costs)',
    );
  const pricePerHour = baseUnits(o.pricePerHour, '--price-per-hour');
  const latestEndMs = o.latestEnd.startsWith('+')
    ? toMs + parseDuration(o.latestEnd.slice(1), '--latest-end')
    : parseTime(o.latestEnd, '--latest-end');
  if (latestEndMs < toMs)
    throw new CliExit(
      EXIT.usage,
      `--latest-end: expected a time not before the grant's end ${fmtTime(toMs)}, got '${o.latestEnd}' (${fmtTime(latestEndMs)})`,
    );
  return { pricePerHour, latestEndMs };
}

/** The options of a grant's terms: what `qood grants issue` and `qood owner grant issue` share. */
export function grantTermOptions(c: Command): Command {
  return c
    .requiredOption('--grantee <hex>', "the grantee's ed25519 public key")
    .requiredOption('--kind <kind>', 'listen or control')
    .requiredOption(
      '--scope <items>',
      'signal paths (listen) or commands (control), comma separated',
      collect,
      [],
    )
    .requiredOption('--valid-for <duration>', 'how long from --from: 90s, 30m, 1h, 7d')
    .option('--from <time>', 'start (ISO time or Unix seconds; default now)')
    .option('--rate-hz <n>', 'listen: pushes per second', '1')
    .option(
      '--granularity <path=step>',
      'listen: round a path to a step (repeatable), e.g. Vehicle.Speed=10',
      collectWhole,
      [],
    )
    .option('--max-commands <n/period>', 'control: rate limit, e.g. 10/1m', '10/1m')
    .option(
      '--condition <rule>',
      "only while 'path op value' holds (repeatable), e.g. 'Vehicle.Speed le 0'",
      collectWhole,
      [],
    )
    .option('--while-engine-running', 'control: allow commands while the engine runs')
    .option('--pull', 'listen: the grantee may also ask for the latest values')
    .option('--min-paid <qdd>', 'listen: base units of QDD the chain must show paid before data flows', '0')
    .option(
      '--price-per-hour <qdd>',
      'listen: the grantee may extend the grant, paying these QDD base units per hour added (with --latest-end)',
    )
    .option(
      '--latest-end <time>',
      'listen: the latest end an extension may reach: ISO time, Unix seconds, or +duration after the end (with --price-per-hour)',
    );
}

/** A grant's window, extension and terms from the options of grantTermOptions; usage errors name the option. */
export async function grantSpec(o: GrantTermOpts) {
  const [perms, fb] = await Promise.all([
    import('../../agent/permissions/index.js'),
    import('../../firmware-bridge/index.js'),
  ]);
  if (o.kind !== 'listen' && o.kind !== 'control')
    throw new CliExit(EXIT.usage, `--kind: expected listen or control, got '${o.kind}'`);
  if (o.scope.length === 0) throw new CliExit(EXIT.usage, '--scope: at least one path or command');
  if (!/^[0-9a-f]{64}$/i.test(o.grantee))
    throw new CliExit(EXIT.usage, `--grantee: expected 64 hex digits, got '${o.grantee}'`);
  const fromMs = o.from === undefined ? Date.now() : parseTime(o.from, '--from');
  const toMs = fromMs + parseDuration(o.validFor, '--valid-for');
  const extension = extensionTerms(o, toMs);
  const granularity = new Map<string, number>();
  for (const g of o.granularity) {
    const [path, step] = g.split('=');
    if (path === undefined || step === undefined || !(Number(step) > 0))
      throw new CliExit(EXIT.usage, `--granularity: expected path=step with a step > 0, got '${g}'`);
    granularity.set(path, Number(step));
  }
  const limit = /^(\d+)\/(.+)$/.exec(o.maxCommands ?? '');
  if (o.kind === 'control' && limit === null)
    throw new CliExit(EXIT.usage, `--max-commands: expected n/period such as 10/1m, got '${o.maxCommands}'`);
  const conditions = o.condition.map((c, i) => {
    const [path, op, value] = c.trim().split(/\s+/);
    try {
      return fb.parseRule(
        { path, op, value: value === 'true' ? true : value === 'false' ? false : Number(value) },
        '--condition',
        `[${i}]`,
      );
    } catch (err) {
      throw new CliExit(EXIT.usage, (err as Error).message);
    }
  });
  const terms = {
    ...perms.BASE_TERMS,
    rateHz: o.kind === 'listen' ? num(o.rateHz ?? '1', '--rate-hz', 0.001) : 0,
    granularity,
    conditions,
    commandLimit:
      o.kind === 'control' && limit !== null
        ? {
            count: num(limit[1]!, '--max-commands', 1),
            perMs: parseDuration(limit[2]!, '--max-commands period'),
          }
        : undefined,
    whileEngineRunning: o.whileEngineRunning === true,
    pull: o.pull === true,
    minPaid: baseUnits(o.minPaid ?? '0', '--min-paid'),
  };
  return {
    grantee: o.grantee.toLowerCase(),
    kind: o.kind as 'listen' | 'control',
    fromMs,
    toMs,
    extension,
    terms,
  };
}

export function registerGrants(program: Command): void {
  const grants = program.command('grants').description('who may listen to this vehicle and command it');

  grantTermOptions(
    grants
      .command('issue')
      .description(
        'sign a grant with the owner key and write it to a file (install it with `qood grants install`)',
      )
      .requiredOption('--seed-file <file>', "file with the owner's seed phrase")
      .requiredOption('--vehicle <id>', 'vehicle id (device.vehicleId)'),
  )
    .option('--chain-id <id>', 'chain id of the grant transaction', 'qood-1')
    .option('--nonce <n>', "the owner account's chain nonce", '0')
    .requiredOption('--out <file>', 'grant file to write')
    .action(async (o: IssueOpts) => {
      const [seal, perms] = await Promise.all([
        import('../../chain/index.js'),
        import('../../agent/permissions/index.js'),
      ]);
      const spec = await grantSpec(o);
      const seed = readSeedFile(seal, o.seedFile);
      const { id, bundle } = perms.issueGrant({
        ownerSecretKey: seal.ownerIdentity(seed).secretKey,
        vehicleId: o.vehicle,
        grantee: spec.grantee,
        kind: spec.kind,
        scope: o.scope,
        fromMs: spec.fromMs,
        toMs: spec.toMs,
        ...(spec.extension === undefined ? {} : { extension: spec.extension }),
        terms: spec.terms,
        chainId: o.chainId ?? 'qood-1',
        nonce: num(o.nonce, '--nonce'),
      });
      writeFileSync(o.out, bundle);
      process.stdout.write(`${id}\n`);
      process.stderr.write(`grant ${id} written to ${o.out}\n`);
    });

  grants
    .command('install')
    .description('hand a grant file to the running agent (it checks the owner signature)')
    .argument('<file>', 'grant file from `qood grants issue`')
    .option('--socket <path>', 'local API socket', DEFAULT_SOCKET)
    .action(async (file: string, o: { socket: string }) => {
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (err) {
        throw new CliExit(
          EXIT.usage,
          `${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
      const r = (await call(o.socket, 'grants.install', { bundle: bytes.toString('hex') })) as {
        id: string;
        duplicate: boolean;
      };
      process.stdout.write(`${r.duplicate ? 'already installed' : 'installed'} ${r.id}\n`);
    });

  grants
    .command('list')
    .description('every grant on the device with its state')
    .option('--socket <path>', 'local API socket', DEFAULT_SOCKET)
    .option('--json', 'print JSON')
    .action(async (o: { socket: string; json?: boolean }) => {
      const list = (await call(o.socket, 'grants.list')) as Record<string, unknown>[];
      if (o.json) {
        process.stdout.write(`${JSON.stringify(list)}\n`);
        return;
      }
      if (list.length === 0) {
        process.stdout.write('no grants\n');
        return;
      }
      for (const g of list)
        process.stdout.write(
          `${String(g.id).slice(0, 16)}  ${String(g.kind).padEnd(7)}  ${String(g.state).padEnd(7)}  until ${fmtTime(g.toMs)}  grantee ${String(g.grantee).slice(0, 16)}  ${(g.scope as string[]).join(',')}\n`,
        );
    });

  grants
    .command('show')
    .description('one grant: terms, chain status and its latest audit entries')
    .argument('<id>', 'grant id or a unique prefix of at least 8 hex digits')
    .option('--socket <path>', 'local API socket', DEFAULT_SOCKET)
    .action(async (id: string, o: { socket: string }) => {
      process.stdout.write(`${JSON.stringify(await call(o.socket, 'grants.show', { id }), null, 2)}\n`);
    });

  grants
    .command('revoke')
    .description('revoke a grant now, on the device, and queue the revocation for the chain')
    .argument('<id>', 'grant id or a unique prefix of at least 8 hex digits')
    .option('--socket <path>', 'local API socket', DEFAULT_SOCKET)
    .option('--seed-file <file>', "sign the chain's revoke transaction with the owner key")
    .option('--nonce <n>', "with --seed-file: the owner account's chain nonce")
    .option('--chain-id <id>', 'with --seed-file: the chain id', 'qood-1')
    .action(async (id: string, o: { socket: string; seedFile?: string; nonce?: string; chainId: string }) => {
      let signedTx: string | undefined;
      if (o.seedFile !== undefined) {
        if (o.nonce === undefined)
          throw new CliExit(
            EXIT.usage,
            "--seed-file needs --nonce (the owner account's next chain nonce, from the wallet or the node)",
          );
        if (!/^[0-9a-f]{64}$/i.test(id))
          throw new CliExit(
            EXIT.usage,
            'with --seed-file give the whole grant id (64 hex digits): the transaction names it',
          );
        const [seal, perms] = await Promise.all([
          import('../../chain/index.js'),
          import('../../agent/permissions/index.js'),
        ]);
        const tx = perms.signOwnerRevoke({
          ownerSecretKey: seal.ownerIdentity(readSeedFile(seal, o.seedFile)).secretKey,
          grantId: id.toLowerCase(),
          chainId: o.chainId,
          nonce: num(o.nonce, '--nonce'),
        });
        signedTx = Buffer.from(tx).toString('hex');
      }
      const r = (await call(o.socket, 'grants.revoke', {
        id,
        ...(signedTx === undefined ? {} : { signedTx }),
      })) as {
        id: string;
        revokedAtMs: number;
        queued: string;
      };
      process.stdout.write(
        `revoked ${r.id} at ${fmtTime(r.revokedAtMs)}; ${r.queued} queued for the chain\n`,
      );
    });

  program
    .command('audit')
    .description('every control call, pull, grant and revocation on the device: when, by whom, outcome')
    .option('--socket <path>', 'local API socket', DEFAULT_SOCKET)
    .option('--grant <id>', 'only this grant')
    .option('--limit <n>', 'the latest n entries', '100')
    .option('--json', 'print JSON lines')
    .option(
      '--verify',
      "check the log's hash chain from its anchor instead of listing it (exit 1 when broken)",
    )
    .action(
      async (o: { socket: string; grant?: string; limit: string; json?: boolean; verify?: boolean }) => {
        if (o.verify) {
          const v = (await call(o.socket, 'audit.verify', {})) as Record<string, unknown>;
          process.stdout.write(
            o.json
              ? `${JSON.stringify(v)}\n`
              : v.ok
                ? `audit log intact: ${v.rows} rows after row ${v.anchorSeq} (anchor ${v.anchorHash}); head ${v.headHash}\n`
                : `audit log BROKEN at row ${v.badSeq}: ${v.problem}\n`,
          );
          if (!v.ok) process.exitCode = 1;
          return;
        }
        const rows = (await call(o.socket, 'audit', {
          limit: num(o.limit, '--limit', 1),
          ...(o.grant === undefined ? {} : { grant: o.grant }),
        })) as Record<string, unknown>[];
        for (const r of rows)
          process.stdout.write(
            o.json
              ? `${JSON.stringify(r)}\n`
              : `${fmtTime(r.atMs)}  ${String(r.kind).padEnd(7)}  ${String(r.grantId ?? '-')
                  .slice(0, 16)
                  .padEnd(16)}  ${String(r.actor || '-')
                  .slice(0, 16)
                  .padEnd(
                    16,
                  )}  ${String(r.command || '-').padEnd(12)}  ${String(r.outcome).padEnd(8)}  ${r.reason}  ${r.detail}\n`,
          );
      },
    );
}
