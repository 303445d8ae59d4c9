/**
 * The telematics provider's certificate authority for its broker (`qood fleet ca`). A folder holds
 * the CA key (0600) and certificate, openssl's issued-certificate database, the CRL, and the
 * mosquitto ACL that follows from what was issued. Every certificate's subject is `OU=<role>,
 * CN=<name>`: the broker takes the CN as the MQTT username (`use_identity_as_username`), which its ACL
 * patterns put in the topics (acl.ts), and the OU records the role in the database, so the CA can
 * keep roles from sharing a name and list the nodes for the ACL.
 *
 * A vehicle's certificate is bound to the device's ed25519 chain key by a subjectAltName URI
 * `urn:qood:device-key:ed25519:<hex>` (certificate-info.ts reads it back): a SAN needs no private
 * OID, shows in `openssl x509 -text`, and Node's X509Certificate exposes it, so a node can check that
 * the TLS identity and the key signing the records are the same device's.
 *
 * The CA key is P-256 (ECDSA, SHA-256), which every TLS stack a TBOX may carry verifies. A client's
 * TLS key is made for it, P-256 by default or ed25519 (TLS 1.3 only, OpenSSL >= 1.1.1). Operations
 * of one instance run one at a time: `openssl ca` rewrites its database files and is not safe to run
 * concurrently, on one folder, from two processes either.
 */
import { X509Certificate } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderFleetAcl } from './acl.js';
import { DEVICE_KEY_URI_PREFIX, GRANT_URI_PREFIX, NODE_KEY_URI_PREFIX } from './certificate-info.js';
import { FleetError } from './fleet-error.js';
import {
  checkGrantId,
  checkHost,
  checkNodeName,
  checkVehicleId,
  FLEET_ROLES,
  type FleetRole,
  isIpAddress,
  normaliseEd25519Key,
} from './names.js';
import { type OpensslRunner, opensslRunner } from './openssl.js';
import { caConfigText, extensionsText } from './openssl-config.js';

/** The TLS key types a client certificate may be made for. */
export const TLS_KEY_TYPES = ['p256', 'ed25519'] as const;
/** One of `TLS_KEY_TYPES`. */
export type TlsKeyType = (typeof TLS_KEY_TYPES)[number];

/** The files of a CA folder, by their role. */
export const CA_FILES = {
  key: 'ca.key',
  cert: 'ca.crt',
  crl: 'crl.pem',
  acl: 'qood.acl',
  database: 'index.txt',
  serial: 'serial',
  crlNumber: 'crlnumber',
  config: 'openssl.cnf',
  certs: 'certs',
} as const;

/** How a CA folder is opened. */
export interface FleetCaOptions {
  /** The CA folder. */
  readonly dir: string;
  /** Runs openssl (default: the binary on PATH). */
  readonly openssl?: OpensslRunner;
  /** First topic levels the ACL is written for (default `qood/v1`). */
  readonly topicPrefix?: string;
  /** Days each regenerated CRL is valid (default 30; mosquitto refuses every client once it expires). */
  readonly crlDays?: number;
}

/** How a new CA is made. */
export interface FleetCaInitOptions extends FleetCaOptions {
  /** The CA certificate's CN (default `QoodBlock fleet CA`). */
  readonly name?: string;
  /** Days the CA certificate is valid (default 3650). */
  readonly days?: number;
}

/** What to issue a certificate for. */
export type IssueRequest =
  | { readonly role: 'vehicle'; readonly vehicleId: string; readonly deviceKey: string }
  | { readonly role: 'node'; readonly name: string; readonly nodeKey?: string }
  | { readonly role: 'grantee'; readonly grantId: string }
  | { readonly role: 'broker'; readonly hosts: readonly string[] };

/** Options of one issue. */
export interface IssueOptions {
  /** Folder the certificate, its key and the CA certificate are written to. */
  readonly outDir: string;
  /** Days the certificate is valid (default 825). */
  readonly days?: number;
  /** The TLS key made for it (default `p256`). */
  readonly keyType?: TlsKeyType;
}

/** A certificate just issued, and where its files are. */
export interface IssuedCertificate {
  /** Upper-case hex serial, as the database and `revoke --serial` use it. */
  readonly serial: string;
  readonly role: FleetRole;
  /** The subject CN: the broker username. */
  readonly name: string;
  readonly certFile: string;
  /** The TLS private key (mode 0600). */
  readonly keyFile: string;
  /** The CA certificate, for the client to check the broker with. */
  readonly caFile: string;
  readonly notAfter: Date;
}

/** One row of the CA's database. */
export interface FleetCertificate {
  readonly serial: string;
  readonly role: FleetRole | undefined;
  readonly name: string;
  readonly status: 'valid' | 'revoked' | 'expired';
}

/** What to revoke: one serial, or every valid certificate of a name in a role. */
export type RevokeRequest = { readonly serial: string } | { readonly role: FleetRole; readonly name: string };

const DEFAULT_CA_NAME = 'QoodBlock fleet CA';

function checkDays(days: number, what: string): void {
  if (!Number.isInteger(days) || days < 1 || days > 36500)
    throw new FleetError({
      code: 'usage',
      message: `${what}: expected a whole number of days from 1 to 36500, got ${days}`,
    });
}

/** Writes `data` to `file` through a temporary file and a rename, with `mode`. */
function writeAtomic(file: string, data: string | Uint8Array, mode: number): void {
  const tmp = `${file}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, data, { mode, flag: 'wx' });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

/** The provider's CA in one folder (see the module comment). */
export class FleetCa {
  readonly dir: string;
  readonly #run: OpensslRunner;
  readonly #prefix: string;
  readonly #crlDays: number;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(o: FleetCaOptions) {
    this.dir = resolve(o.dir);
    this.#run = o.openssl ?? opensslRunner();
    this.#prefix = o.topicPrefix ?? 'qood/v1';
    this.#crlDays = o.crlDays ?? 30;
    checkDays(this.#crlDays, 'CRL validity');
    // openssl expands `$` in config values, and a newline would end one.
    if (/[$\n\r]/.test(this.dir))
      throw new FleetError({
        code: 'usage',
        message: `CA folder '${this.dir}': expected a path without '$' or line breaks (openssl's config cannot hold them)`,
        file: this.dir,
      });
  }

  /** Creates a CA in `o.dir` (a new or empty folder): key, certificate, empty database and CRL, ACL. */
  static async init(o: FleetCaInitOptions): Promise<FleetCa> {
    const ca = new FleetCa(o);
    const days = o.days ?? 3650;
    checkDays(days, '--days');
    const name = o.name ?? DEFAULT_CA_NAME;
    if (!/^[A-Za-z0-9 ._-]{1,64}$/.test(name))
      throw new FleetError({
        code: 'usage',
        message: `CA name '${name}': expected 1 to 64 letters, digits, spaces, dot, underscore or dash`,
      });
    if (existsSync(join(ca.dir, CA_FILES.key)) || existsSync(join(ca.dir, CA_FILES.database)))
      throw new FleetError({
        code: 'state',
        message: `${ca.dir} already holds a CA (${CA_FILES.key}); refusing to replace it`,
        file: ca.dir,
      });
    // The broker (user mosquitto) reads ca.crt, crl.pem and qood.acl here; the key and the
    // database stay the owner's (0600, and certs/ 0700).
    mkdirSync(join(ca.dir, CA_FILES.certs), { recursive: true, mode: 0o700 });
    chmodSync(ca.dir, 0o755);
    ca.#writeConfig();
    await ca.#staged(async (tmp) => {
      const key = join(tmp, 'ca.key');
      const cert = join(tmp, 'ca.crt');
      await ca.#run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
      await ca.#run([
        'req',
        '-x509',
        '-new',
        '-config',
        ca.#file('config'),
        '-key',
        key,
        '-sha256',
        '-subj',
        `/CN=${name}`,
        '-days',
        String(days),
        '-extensions',
        'ca_ext',
        '-out',
        cert,
      ]);
      writeAtomic(ca.#file('key'), readFileSync(key), 0o600);
      writeAtomic(ca.#file('cert'), readFileSync(cert), 0o644);
    });
    writeAtomic(ca.#file('database'), '', 0o600);
    writeAtomic(ca.#file('serial'), '1000\n', 0o600);
    writeAtomic(ca.#file('crlNumber'), '1000\n', 0o600);
    await ca.#gencrl();
    ca.#writeAcl();
    return ca;
  }

  /** Opens the CA in `o.dir`; throws a `state` error when it holds none. */
  static open(o: FleetCaOptions): FleetCa {
    const ca = new FleetCa(o);
    for (const f of ['key', 'cert', 'database', 'serial', 'crlNumber'] as const)
      if (!existsSync(ca.#file(f)))
        throw new FleetError({
          code: 'state',
          message: `${ca.dir} is not a fleet CA: ${CA_FILES[f]} is missing (create one with 'qood fleet ca init --dir ${o.dir}')`,
          file: ca.#file(f),
        });
    ca.#writeConfig();
    return ca;
  }

  /** Path of one of the CA's files. */
  file(which: keyof typeof CA_FILES): string {
    return this.#file(which);
  }

  #file(which: keyof typeof CA_FILES): string {
    return join(this.dir, CA_FILES[which]);
  }

  /** Runs `op` after every operation before it (openssl ca's files are not safe to share). */
  #serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(op, op);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Runs `op` with a fresh private temporary folder, removed afterwards. */
  async #staged<T>(op: (tmp: string) => Promise<T>): Promise<T> {
    const tmp = mkdtempSync(join(tmpdir(), 'qood-fleet-'));
    try {
      return await op(tmp);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  #writeConfig(): void {
    const files = Object.fromEntries(
      Object.keys(CA_FILES).map((k) => [k, this.#file(k as keyof typeof CA_FILES)]),
    ) as Record<keyof typeof CA_FILES, string>;
    writeAtomic(this.#file('config'), caConfigText(files, this.#crlDays), 0o600);
  }

  /** Issues a certificate for `req` with a TLS key made for it, into `o.outDir`. */
  issue(req: IssueRequest, o: IssueOptions): Promise<IssuedCertificate> {
    const { role, name, san } = this.#subjectOf(req);
    const days = o.days ?? 825;
    checkDays(days, '--days');
    const keyType = o.keyType ?? 'p256';
    if (!(TLS_KEY_TYPES as readonly string[]).includes(keyType))
      throw new FleetError({
        code: 'usage',
        message: `key type '${keyType}': expected one of ${TLS_KEY_TYPES.join(', ')}`,
      });
    // Files named ca.* would replace the CA certificate beside them, and in the CA folder its key.
    if (name === 'ca')
      throw new FleetError({
        code: 'usage',
        message: "'ca' cannot name a certificate: its files would be ca.crt and ca.key",
      });
    if (resolve(o.outDir) === this.dir)
      throw new FleetError({
        code: 'usage',
        message: `--out ${o.outDir}: give a folder other than the CA's own (the client's key does not belong beside the CA key)`,
        file: o.outDir,
      });
    return this.#serial(async () => {
      const clash = this.list().find((c) => c.status === 'valid' && c.name === name && c.role !== role);
      if (clash !== undefined)
        throw new FleetError({
          code: 'usage',
          message: `'${name}' already names a valid ${clash.role ?? 'unknown'} certificate (serial ${clash.serial}); the broker would give both the same username`,
        });
      const issued = await this.#staged(async (tmp) => {
        const key = join(tmp, 'key.pem');
        const csr = join(tmp, 'req.csr');
        const cert = join(tmp, 'cert.pem');
        const ext = join(tmp, 'ext.cnf');
        const keyArgs =
          keyType === 'ed25519'
            ? ['-newkey', 'ed25519']
            : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
        await this.#run([
          'req',
          '-new',
          '-config',
          this.#file('config'),
          ...keyArgs,
          '-nodes',
          '-keyout',
          key,
          '-subj',
          `/OU=${role}/CN=${name}`,
          '-out',
          csr,
        ]);
        writeFileSync(ext, extensionsText(role, san));
        await this.#run([
          'ca',
          '-batch',
          '-config',
          this.#file('config'),
          '-in',
          csr,
          '-out',
          cert,
          '-days',
          String(days),
          '-extfile',
          ext,
          '-extensions',
          'ext',
          '-notext',
        ]);
        return { key: readFileSync(key), cert: readFileSync(cert, 'utf8') };
      });
      const x = new X509Certificate(issued.cert);
      mkdirSync(o.outDir, { recursive: true });
      const out = (s: string) => join(resolve(o.outDir), s);
      // The broker's files have one name whatever its host, as the shipped qood.conf names them.
      const base = role === 'broker' ? 'broker' : name;
      const files = { certFile: out(`${base}.crt`), keyFile: out(`${base}.key`), caFile: out('ca.crt') };
      writeAtomic(files.keyFile, issued.key, 0o600);
      writeAtomic(files.certFile, issued.cert, 0o644);
      writeAtomic(files.caFile, readFileSync(this.#file('cert')), 0o644);
      if (role === 'node') this.#writeAcl();
      return { serial: x.serialNumber.toUpperCase(), role, name, ...files, notAfter: new Date(x.validTo) };
    });
  }

  #subjectOf(req: IssueRequest): { role: FleetRole; name: string; san: string[] } {
    switch (req.role) {
      case 'vehicle': {
        checkVehicleId(req.vehicleId);
        const key = normaliseEd25519Key(req.deviceKey, '--device-key');
        return { role: 'vehicle', name: req.vehicleId, san: [`URI:${DEVICE_KEY_URI_PREFIX}${key}`] };
      }
      case 'node': {
        checkNodeName(req.name);
        const key = req.nodeKey === undefined ? undefined : normaliseEd25519Key(req.nodeKey, '--node-key');
        return {
          role: 'node',
          name: req.name,
          san: key === undefined ? [] : [`URI:${NODE_KEY_URI_PREFIX}${key}`],
        };
      }
      case 'grantee':
        checkGrantId(req.grantId);
        return { role: 'grantee', name: req.grantId, san: [`URI:${GRANT_URI_PREFIX}${req.grantId}`] };
      case 'broker': {
        if (req.hosts.length === 0)
          throw new FleetError({ code: 'usage', message: 'a broker certificate needs at least one host' });
        for (const h of req.hosts) checkHost(h);
        const first = req.hosts[0] as string;
        return {
          role: 'broker',
          name: first.replaceAll(':', '_'),
          san: req.hosts.map((h) => (isIpAddress(h) ? `IP:${h}` : `DNS:${h}`)),
        };
      }
    }
  }

  /** Revokes what `req` names and regenerates the CRL; resolves with the serials revoked. */
  revoke(req: RevokeRequest): Promise<string[]> {
    return this.#serial(async () => {
      const all = this.list();
      let targets: FleetCertificate[];
      if ('serial' in req) {
        const serial = req.serial.replace(/^0x/i, '').toUpperCase();
        if (!/^[0-9A-F]{1,40}$/.test(serial))
          throw new FleetError({
            code: 'usage',
            message: `serial '${req.serial}': expected the hex serial 'qood fleet ca issue' printed`,
          });
        const found = all.find((c) => c.serial === serial);
        if (found === undefined)
          throw new FleetError({
            code: 'usage',
            message: `serial ${serial}: this CA (${this.dir}) never issued it`,
          });
        if (found.status === 'revoked')
          throw new FleetError({
            code: 'usage',
            message: `serial ${serial} (${found.role} '${found.name}') is already revoked`,
          });
        targets = [found];
      } else {
        targets = all.filter((c) => c.role === req.role && c.name === req.name && c.status === 'valid');
        if (targets.length === 0)
          throw new FleetError({
            code: 'usage',
            message: `${req.role} '${req.name}': no valid certificate of this CA (${this.dir}) names it`,
          });
      }
      for (const t of targets)
        await this.#run([
          'ca',
          '-batch',
          '-config',
          this.#file('config'),
          '-revoke',
          join(this.#file('certs'), `${t.serial}.pem`),
        ]);
      await this.#gencrl();
      if (targets.some((t) => t.role === 'node')) this.#writeAcl();
      return targets.map((t) => t.serial);
    });
  }

  /** Regenerates the CRL (it expires after `crlDays`: run this from a timer well before). */
  regenerateCrl(): Promise<void> {
    return this.#serial(() => this.#gencrl());
  }

  async #gencrl(): Promise<void> {
    await this.#staged(async (tmp) => {
      const crl = join(tmp, 'crl.pem');
      await this.#run([
        'ca',
        '-batch',
        '-config',
        this.#file('config'),
        '-gencrl',
        '-crldays',
        String(this.#crlDays),
        '-out',
        crl,
      ]);
      // The broker reads it: world-readable, and replaced in one rename so it never sees half a file.
      writeAtomic(this.#file('crl'), readFileSync(crl), 0o644);
    });
  }

  #writeAcl(): void {
    const nodes = this.list()
      .filter((c) => c.role === 'node' && c.status === 'valid')
      .map((c) => c.name);
    writeAtomic(this.#file('acl'), renderFleetAcl({ topicPrefix: this.#prefix, nodes }), 0o644);
  }

  /** Every certificate the CA issued, from its database (status as openssl last wrote it). */
  list(): FleetCertificate[] {
    const text = readFileSync(this.#file('database'), 'utf8');
    const rows: FleetCertificate[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      // status, expiry, revocation, serial, file, subject (openssl's index.txt)
      const [status, , , serial, , subject] = line.split('\t');
      if (serial === undefined || subject === undefined) continue;
      const ou = /\/OU=([^/]*)/.exec(subject)?.[1];
      const cn = /\/CN=([^/]*)/.exec(subject)?.[1] ?? '';
      rows.push({
        serial: serial.toUpperCase(),
        role: (FLEET_ROLES as readonly string[]).includes(ou ?? '') ? (ou as FleetRole) : undefined,
        name: cn,
        status: status === 'R' ? 'revoked' : status === 'E' ? 'expired' : 'valid',
      });
    }
    return rows;
  }
}
