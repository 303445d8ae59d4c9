/**
 * `qood fleet ca` as a provider runs it, with the real openssl binary: a CA made, a device's
 * certificate issued with its chain key bound in, checked by `openssl verify` against the CA, then
 * revoked and refused by `openssl verify -crl_check` with the regenerated CRL; each bad input exits
 * 2 with a message naming what was wrong.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { readFleetCertificate } from '../../../node/fleet/index.js';
import { runQood } from '../../support/cli.js';
import { describeSystem } from '../../support/system.js';

const DEVICE_KEY = '3c'.repeat(32);

function verify(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('openssl', ['verify', ...args], { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

describeSystem('qood fleet ca', [{ bin: 'openssl', pkg: 'openssl' }], () => {
  const tmp = mkdtempSync(join(tmpdir(), 'qood-fleet-cli-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const ca = join(tmp, 'ca');
  const out = join(tmp, 'device');

  it('creates a CA, issues a device certificate bound to its key, revokes it into the CRL', () => {
    const init = runQood(['fleet', 'ca', 'init', '--dir', ca]);
    expect(init.stderr).toBe('');
    expect(init.status).toBe(0);
    expect(statSync(join(ca, 'ca.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(ca, 'crl.pem'), 'utf8')).toMatch(/BEGIN X509 CRL/);
    expect(runQood(['fleet', 'ca', 'init', '--dir', ca]).stderr).toMatch(/already holds a CA/);

    const issue = runQood([
      'fleet',
      'ca',
      'issue',
      '--dir',
      ca,
      '--vehicle',
      'WVWZZZ1JZXW000001',
      '--device-key',
      DEVICE_KEY.toUpperCase(),
      '--out',
      out,
      '--json',
    ]);
    expect(issue.stderr).toBe('');
    expect(issue.status).toBe(0);
    const issued = JSON.parse(issue.stdout) as {
      serial: string;
      certFile: string;
      keyFile: string;
      caFile: string;
    };
    expect(statSync(issued.keyFile).mode & 0o777).toBe(0o600);
    const info = readFleetCertificate(readFileSync(issued.certFile));
    expect(info).toMatchObject({
      role: 'vehicle',
      name: 'WVWZZZ1JZXW000001',
      chainKey: DEVICE_KEY,
      serial: issued.serial,
    });
    // A client certificate for TLS, under this CA.
    expect(verify(['-CAfile', issued.caFile, '-purpose', 'sslclient', issued.certFile]).ok).toBe(true);
    // The key in --out is the certificate's.
    const pub = (a: string[]) => spawnSync('openssl', a, { encoding: 'utf8' }).stdout;
    expect(pub(['pkey', '-in', issued.keyFile, '-pubout'])).toBe(
      pub(['x509', '-in', issued.certFile, '-noout', '-pubkey']),
    );

    const revoke = runQood(['fleet', 'ca', 'revoke', '--dir', ca, '--serial', issued.serial.toLowerCase()]);
    expect(revoke.status).toBe(0);
    expect(revoke.stdout).toMatch(/reload the broker/);
    const refused = verify([
      '-CAfile',
      issued.caFile,
      '-crl_check',
      '-CRLfile',
      join(ca, 'crl.pem'),
      issued.certFile,
    ]);
    expect(refused.ok).toBe(false);
    expect(refused.out).toMatch(/certificate revoked/);
    const list = runQood(['fleet', 'ca', 'list', '--dir', ca, '--json']);
    expect(JSON.parse(list.stdout)).toEqual([
      { serial: issued.serial, role: 'vehicle', name: 'WVWZZZ1JZXW000001', status: 'revoked' },
    ]);
  });

  it('issues node, grantee and broker certificates, and keeps one name to one role', () => {
    const node = runQood(['fleet', 'ca', 'issue', '--dir', ca, '--node', 'node-1', '--out', out]);
    expect(node.status).toBe(0);
    expect(readFileSync(join(ca, 'qood.acl'), 'utf8')).toMatch(/^user node-1$/m);
    const grantee = runQood([
      'fleet',
      'ca',
      'issue',
      '--dir',
      ca,
      '--grantee',
      'ab'.repeat(32),
      '--out',
      out,
      '--key-type',
      'ed25519',
    ]);
    expect(grantee.status).toBe(0);
    const broker = runQood([
      'fleet',
      'ca',
      'issue',
      '--dir',
      ca,
      '--broker',
      'broker.example.net',
      '10.0.0.5',
      '--out',
      out,
    ]);
    expect(broker.status).toBe(0);
    expect(
      verify(['-CAfile', join(out, 'ca.crt'), '-purpose', 'sslserver', join(out, 'broker.crt')]).ok,
    ).toBe(true);
    const clash = runQood([
      'fleet',
      'ca',
      'issue',
      '--dir',
      ca,
      '--vehicle',
      'node-1',
      '--device-key',
      DEVICE_KEY,
      '--out',
      out,
    ]);
    expect(clash.status).toBe(2);
    expect(clash.stderr).toMatch(/'node-1' already names a valid node certificate/);
    const gone = runQood(['fleet', 'ca', 'revoke', '--dir', ca, '--node', 'node-1']);
    expect(gone.status).toBe(0);
    expect(readFileSync(join(ca, 'qood.acl'), 'utf8')).not.toMatch(/^user node-1$/m);
  });

  it('refuses bad input with exit 2 and a message naming it', () => {
    const cases: [string[], RegExp][] = [
      [
        ['issue', '--dir', ca, '--vehicle', 'a/b', '--device-key', DEVICE_KEY, '--out', out],
        /vehicle id 'a\/b'.*topic level/,
      ],
      [['issue', '--dir', ca, '--vehicle', 'chain', '--device-key', DEVICE_KEY, '--out', out], /reserved/],
      [['issue', '--dir', ca, '--vehicle', 'car-1', '--out', out], /give --device-key/],
      [
        ['issue', '--dir', ca, '--vehicle', 'car-1', '--device-key', 'abc', '--out', out],
        /--device-key 'abc': expected an ed25519 public key as 64 hex digits/,
      ],
      [
        ['issue', '--dir', ca, '--vehicle', 'car-1', '--node', 'n', '--out', out],
        /exactly one of .*got --vehicle and --node/,
      ],
      [['issue', '--dir', ca, '--grantee', 'xyz', '--out', out], /grant id 'xyz'/],
      [
        ['issue', '--dir', ca, '--node', 'n', '--key-type', 'rsa', '--out', out],
        /--key-type: expected p256 or ed25519/,
      ],
      [
        ['issue', '--dir', ca, '--node', 'n', '--days', '0', '--out', out],
        /--days: expected a whole number of days from 1/,
      ],
      [
        ['issue', '--dir', join(tmp, 'nowhere'), '--node', 'n', '--out', out],
        /not a fleet CA: ca.key is missing/,
      ],
      [['issue', '--dir', ca, '--node', 'ca', '--out', out], /'ca' cannot name a certificate/],
      [['issue', '--dir', ca, '--node', 'n', '--out', ca], /give a folder other than the CA's own/],
      [['revoke', '--dir', ca, '--serial', 'FFFF'], /serial FFFF: this CA .* never issued it/],
      [['revoke', '--dir', ca, '--vehicle', 'car-404'], /vehicle 'car-404': no valid certificate/],
      [['revoke', '--dir', ca], /give exactly one of --serial, --vehicle, --node, --grantee/],
    ];
    for (const [args, message] of cases) {
      const r = runQood(['fleet', 'ca', ...args]);
      expect({ args, status: r.status }).toEqual({ args, status: 2 });
      expect(r.stderr).toMatch(message);
    }
  });
});
