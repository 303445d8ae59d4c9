/**
 * `qood fleet ca ...`: the telematics provider's CA for its broker (node/fleet). This file parses the
 * flags and prints; node/fleet does the work.
 *
 * - `init --dir DIR`: creates the CA (key 0600, certificate, empty CRL, the broker's ACL).
 * - `issue --dir DIR (--vehicle ID --device-key HEX | --node NAME | --grantee GRANT_ID | --broker
 *   HOST...) --out DIR`: a certificate and a TLS key made for it, and the CA certificate, in `--out`.
 * - `revoke --dir DIR (--serial S | --vehicle ID | --node NAME | --grantee GRANT_ID)`: adds to the
 *   CRL and rewrites it; the broker picks it up on reload.
 * - `crl --dir DIR`: rewrites the CRL (it expires: run from a timer); `list --dir DIR`: what was issued.
 */
import type { Command } from 'commander';
import type { FleetError, IssueRequest, RevokeRequest, TlsKeyType } from '../../node/fleet/index.js';
import { CliExit, EXIT } from '../exit-codes.js';

interface CaOpts {
  dir: string;
  prefix?: string;
  crlDays?: string;
  json?: boolean;
}

interface InitOpts extends CaOpts {
  name?: string;
  days?: string;
}

interface IssueOpts extends CaOpts {
  vehicle?: string;
  deviceKey?: string;
  node?: string;
  nodeKey?: string;
  grantee?: string;
  broker?: string[];
  out: string;
  days?: string;
  keyType: string;
}

interface RevokeOpts extends CaOpts {
  serial?: string;
  vehicle?: string;
  node?: string;
  grantee?: string;
}

function whole(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim()))
    throw new CliExit(EXIT.usage, `${what}: expected a whole number of days, got '${v}'`);
  return Number(v.trim());
}

/** Exactly one of `options` (by their flag names) was given; returns its flag. */
function one(given: Record<string, unknown>, what: string): string {
  const set = Object.entries(given).filter(([, v]) => v !== undefined);
  if (set.length !== 1)
    throw new CliExit(
      EXIT.usage,
      `${what}: give exactly one of ${Object.keys(given).join(', ')}${set.length > 1 ? ` (got ${set.map(([k]) => k).join(' and ')})` : ''}`,
    );
  return set[0]![0];
}

/** Runs `op`, turning a FleetError into the exit status its code calls for. */
async function run<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if ((err as Error).name !== 'FleetError') throw err;
    const e = err as FleetError;
    throw new CliExit(
      e.code === 'usage' || e.code === 'state' ? EXIT.usage : EXIT.failure,
      `qood fleet ca: ${e.message}`,
    );
  }
}

function caOptions(o: CaOpts) {
  const crlDays = whole(o.crlDays, '--crl-days');
  return {
    dir: o.dir,
    ...(o.prefix === undefined ? {} : { topicPrefix: o.prefix }),
    ...(crlDays === undefined ? {} : { crlDays }),
  };
}

function print(o: CaOpts, value: unknown, text: string): void {
  process.stdout.write(o.json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

/** Adds `fleet` and its `ca` commands. */
export function registerFleet(program: Command): void {
  const fleet = program.command('fleet').description("a telematics provider's fleet: the broker's CA");
  const ca = fleet
    .command('ca')
    .description('the CA that issues broker certificates to vehicles, nodes, grantees and the broker');
  const common = (c: Command) =>
    c
      .requiredOption('--dir <dir>', 'the CA folder')
      .option('--prefix <levels>', 'first topic levels the ACL is written for', 'qood/v1')
      .option('--crl-days <n>', 'days each regenerated CRL is valid (default 30)')
      .option('--json', 'print JSON');

  common(ca.command('init').description('create the CA: key (0600), certificate, empty CRL and the ACL'))
    .option('--name <cn>', "the CA certificate's CN", 'QoodBlock fleet CA')
    .option('--days <n>', 'days the CA certificate is valid', '3650')
    .action(async (o: InitOpts) => {
      const { FleetCa } = await import('../../node/fleet/index.js');
      const days = whole(o.days, '--days');
      const c = await run(() =>
        FleetCa.init({
          ...caOptions(o),
          ...(o.name === undefined ? {} : { name: o.name }),
          ...(days === undefined ? {} : { days }),
        }),
      );
      print(
        o,
        { dir: c.dir, cert: c.file('cert'), crl: c.file('crl'), acl: c.file('acl') },
        `created a fleet CA in ${c.dir}: ${c.file('cert')}, CRL ${c.file('crl')}, broker ACL ${c.file('acl')}`,
      );
    });

  common(ca.command('issue').description('issue a certificate and a TLS key made for it'))
    .option('--vehicle <id>', "a device's certificate: its vehicle id (the CN, the broker username)")
    .option(
      '--device-key <hex>',
      "the device's ed25519 public key (64 hex digits), bound into the certificate",
    )
    .option('--node <name>', "a node's certificate (reads every vehicle's up topics, writes the down ones)")
    .option('--node-key <hex>', "the node's ed25519 public key, bound into the certificate (optional)")
    .option('--grantee <grantId>', "a grantee's certificate: its grant's topics only")
    .option('--broker <hosts...>', "the broker's own certificate, for these host names or addresses")
    .requiredOption('--out <dir>', 'folder for <name>.crt, <name>.key (0600) and ca.crt')
    .option('--days <n>', 'days the certificate is valid', '825')
    .option('--key-type <type>', 'the TLS key made for it: p256 or ed25519 (ed25519 needs TLS 1.3)', 'p256')
    .action(async (o: IssueOpts) => {
      const role = one(
        { '--vehicle': o.vehicle, '--node': o.node, '--grantee': o.grantee, '--broker': o.broker },
        'qood fleet ca issue',
      );
      let req: IssueRequest;
      if (role === '--vehicle') {
        if (o.deviceKey === undefined)
          throw new CliExit(
            EXIT.usage,
            "qood fleet ca issue --vehicle: give --device-key, the device's ed25519 public key ('qood keys device --data-dir DIR' on the device)",
          );
        req = { role: 'vehicle', vehicleId: o.vehicle!, deviceKey: o.deviceKey };
      } else if (role === '--node')
        req = { role: 'node', name: o.node!, ...(o.nodeKey === undefined ? {} : { nodeKey: o.nodeKey }) };
      else if (role === '--grantee') req = { role: 'grantee', grantId: o.grantee! };
      else req = { role: 'broker', hosts: o.broker! };
      if (role !== '--vehicle' && o.deviceKey !== undefined)
        throw new CliExit(EXIT.usage, 'qood fleet ca issue: --device-key goes with --vehicle');
      if (o.keyType !== 'p256' && o.keyType !== 'ed25519')
        throw new CliExit(EXIT.usage, `--key-type: expected p256 or ed25519, got '${o.keyType}'`);
      const days = whole(o.days, '--days');
      const { FleetCa } = await import('../../node/fleet/index.js');
      const issued = await run(() =>
        FleetCa.open(caOptions(o)).issue(req, {
          outDir: o.out,
          keyType: o.keyType as TlsKeyType,
          ...(days === undefined ? {} : { days }),
        }),
      );
      print(
        o,
        issued,
        `issued ${issued.role} '${issued.name}', serial ${issued.serial}, valid until ${issued.notAfter.toISOString()}:\n  ${issued.certFile}\n  ${issued.keyFile} (0600)\n  ${issued.caFile}`,
      );
    });

  common(ca.command('revoke').description('revoke certificates and rewrite the CRL (then reload the broker)'))
    .option('--serial <hex>', 'the serial `issue` printed')
    .option('--vehicle <id>', 'every valid certificate of this vehicle')
    .option('--node <name>', 'every valid certificate of this node')
    .option('--grantee <grantId>', 'every valid certificate of this grant')
    .action(async (o: RevokeOpts) => {
      const by = one(
        { '--serial': o.serial, '--vehicle': o.vehicle, '--node': o.node, '--grantee': o.grantee },
        'qood fleet ca revoke',
      );
      const req: RevokeRequest =
        by === '--serial'
          ? { serial: o.serial! }
          : by === '--vehicle'
            ? { role: 'vehicle', name: o.vehicle! }
            : by === '--node'
              ? { role: 'node', name: o.node! }
              : { role: 'grantee', name: o.grantee! };
      const { FleetCa } = await import('../../node/fleet/index.js');
      const c = await run(async () => FleetCa.open(caOptions(o)));
      const serials = await run(() => c.revoke(req));
      print(
        o,
        { revoked: serials, crl: c.file('crl') },
        `revoked ${serials.join(', ')}; CRL rewritten: ${c.file('crl')}\nreload the broker to refuse them (systemctl reload mosquitto)`,
      );
    });

  common(
    ca
      .command('crl')
      .description('rewrite the CRL (run well before it expires: mosquitto refuses everyone after)'),
  ).action(async (o: CaOpts) => {
    const { FleetCa } = await import('../../node/fleet/index.js');
    const c = await run(async () => FleetCa.open(caOptions(o)));
    await run(() => c.regenerateCrl());
    print(o, { crl: c.file('crl') }, `CRL rewritten: ${c.file('crl')}`);
  });

  common(ca.command('list').description('the certificates the CA issued')).action(async (o: CaOpts) => {
    const { FleetCa } = await import('../../node/fleet/index.js');
    const rows = await run(async () => FleetCa.open(caOptions(o)).list());
    print(
      o,
      rows,
      rows.map((r) => `${r.serial}\t${r.status}\t${r.role ?? '?'}\t${r.name}`).join('\n') || '(none issued)',
    );
  });
}
