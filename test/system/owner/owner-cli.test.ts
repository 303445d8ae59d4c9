/**
 * `qood owner` as an owner runs it, as separate processes against a real one-producer chain node:
 * register the vehicle, bind its device, issue a grant (final on chain, read back with a proof; the
 * bundle written is one the device accepts), revoke it (final), fund the device, and list the
 * history. Bad input exits 2 naming the option; a node that lies in its state answers (a real HTTP
 * proxy rewriting them) exits 1 with UNPROVEN.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyGrantBundle } from '../../../agent/permissions/index.js';
import {
  type CanonicalValue,
  decodeCanonical,
  decodeUpdate,
  encodeCanonical,
  encodeUpdate,
  generateMnemonic,
  ownerIdentity,
  seedFromMnemonic,
  toHex,
  UNIT,
} from '../../../chain/index.js';
import { OwnerWallet } from '../../../market/index.js';
import { QOOD_CLI } from '../../support/cli.js';
import { type OwnerChain, startLyingProxy, startOwnerChain } from '../../support/owner-chain.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-owner-cli-'));
const seedFile = join(dir, 'seed.txt');
const checkpointFile = join(dir, 'checkpoint.bin');
const mnemonic = generateMnemonic();
const owner = ownerIdentity(seedFromMnemonic(mnemonic));
const device = toHex(ownerIdentity(seedFromMnemonic(generateMnemonic())).publicKey);
const grantee = toHex(ownerIdentity(seedFromMnemonic(generateMnemonic())).publicKey);
let chain: OwnerChain;

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `qood ...args` without blocking this process (the node runs in it). */
function qood(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [QOOD_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const keyArgs = () => ['--node', chain.apiUrl, '--seed-file', seedFile, '--checkpoint', checkpointFile];
const proven = () => new OwnerWallet({ nodeUrl: chain.apiUrl, secretKey: owner.secretKey, pollMs: 50 });

beforeAll(async () => {
  writeFileSync(seedFile, `${mnemonic}\n`, { mode: 0o600 });
  chain = await startOwnerChain();
  writeFileSync(checkpointFile, await chain.checkpoint());
  const whale = new OwnerWallet({ nodeUrl: chain.apiUrl, secretKey: chain.whaleSecret, pollMs: 50 });
  await whale.fundDevice(toHex(owner.publicKey), 1000n * UNIT);
}, 60_000);

afterAll(async () => {
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('qood owner against a real node', () => {
  let grantId = '';

  it('registers, binds, issues a grant that is final on chain and installable, and revokes it', async () => {
    const bal = await qood(['owner', 'balance', ...keyArgs(), '--json']);
    expect(bal.status, bal.stderr).toBe(0);
    expect(JSON.parse(bal.stdout)).toMatchObject({
      address: toHex(owner.publicKey),
      qdt: String(1000n * UNIT),
    });

    const reg = await qood(['owner', 'register-vehicle', ...keyArgs(), '--vehicle', 'cli-owner-car']);
    expect(reg.status, reg.stderr).toBe(0);
    expect(reg.stdout).toMatch(/^registerVehicle [0-9a-f]{64} final at height \d+\n$/);

    const bind = await qood([
      'owner',
      'bind-device',
      ...keyArgs(),
      '--vehicle',
      'cli-owner-car',
      '--device',
      device,
    ]);
    expect(bind.status, bind.stderr).toBe(0);
    expect((await proven().vehicle('cli-owner-car'))?.devices).toEqual([device]);

    const bundleFile = join(dir, 'grant.bin');
    const issued = await qood([
      'owner',
      'grant',
      'issue',
      ...keyArgs(),
      '--vehicle',
      'cli-owner-car',
      '--grantee',
      grantee,
      '--kind',
      'listen',
      '--scope',
      'Vehicle.Speed',
      '--valid-for',
      '1h',
      '--out',
      bundleFile,
      '--json',
    ]);
    expect(issued.status, issued.stderr).toBe(0);
    const doc = JSON.parse(issued.stdout) as { grantId: string; height: number; bundle: string };
    grantId = doc.grantId;
    // The grant read back from the chain, proven against a finality certificate.
    expect(await proven().grant(grantId)).toMatchObject({ grantee, kind: 'listen', revoked: false });
    // The bundle the device installs: signed by the owner, for this vehicle, the same grant.
    const v = verifyGrantBundle(
      readFileSync(bundleFile),
      { ownerPublicKey: owner.publicKey, vehicleId: 'cli-owner-car' },
      Date.now(),
    );
    expect(v.id).toBe(grantId);

    const rev = await qood(['owner', 'revoke', grantId, ...keyArgs()]);
    expect(rev.status, rev.stderr).toBe(0);
    expect(rev.stdout).toMatch(/^revoke [0-9a-f]{64} final at height \d+\n$/);
    expect((await proven().grant(grantId))?.revoked).toBe(true);
  }, 60_000);

  it('funds the device and lists the history', async () => {
    const fund = await qood([
      'owner',
      'fund-device',
      ...keyArgs(),
      '--device',
      device,
      '--amount',
      '2.5',
      '--json',
    ]);
    expect(fund.status, fund.stderr).toBe(0);
    expect(JSON.parse(fund.stdout)).toMatchObject({ kind: 'transfer', amount: '2500000', token: 'QDT' });
    const hist = await qood(['owner', 'history', ...keyArgs(), '--json']);
    expect(hist.status, hist.stderr).toBe(0);
    const kinds = (JSON.parse(hist.stdout) as { entries: { kind: string }[] }).entries.map((e) => e.kind);
    expect(kinds).toEqual(['transfer', 'revoke', 'grant', 'bindDevice', 'registerVehicle', 'transfer']);
  }, 60_000);

  it('names what is wrong: bad input exits 2, a refused action exits 1 with its code', async () => {
    const noKey = await qood(['owner', 'balance', '--node', chain.apiUrl]);
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toMatch(
      /qood owner balance: give the owner key as exactly one of --seed-file FILE or --key-file FILE/,
    );
    const badDevice = await qood([
      'owner',
      'bind-device',
      ...keyArgs(),
      '--vehicle',
      'cli-owner-car',
      '--device',
      'abc',
    ]);
    expect(badDevice.status).toBe(2);
    expect(badDevice.stderr).toMatch(/--device 'abc': expected 64 lowercase hex digits/);
    const badCheckpoint = await qood([
      'owner',
      'balance',
      ...keyArgs().slice(0, 4),
      '--checkpoint',
      seedFile,
    ]);
    expect(badCheckpoint.status).toBe(2);
    expect(badCheckpoint.stderr).toMatch(/--checkpoint '.*seed\.txt': expected a light-client checkpoint/);
    const again = await qood(['owner', 'revoke', grantId, ...keyArgs()]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(
      /qood owner revoke: ALREADY_DONE: grant [0-9a-f]{16}\.\.\. is already revoked/,
    );
    const noSuch = await qood(['owner', 'revoke', 'ab'.repeat(32), ...keyArgs()]);
    expect(noSuch.status).toBe(1);
    expect(noSuch.stderr).toMatch(/MISSING_RECORD: no grant abababababababab\.\.\. in the final state/);
  }, 60_000);

  it('catches a node that lies in its state answers', async () => {
    const proxy = await startLyingProxy(chain.apiUrl);
    try {
      // The owner's balance reported 1000 QDT higher, in the proof-carrying answers.
      proxy.setRewrite((path, body) => {
        if (!path.startsWith('/light/state')) return body;
        const u = decodeUpdate(body);
        return encodeUpdate({
          ...u,
          proofs: u.proofs.map((p) => {
            if (p.key !== `acct/${toHex(owner.publicKey)}` || p.value === null) return p;
            const a = [...(decodeCanonical(p.value) as CanonicalValue[])];
            a[0] = BigInt(a[0] as bigint | number) + 1000n * UNIT;
            return { ...p, value: encodeCanonical(a) };
          }),
        });
      });
      const r = await qood([
        'owner',
        'balance',
        '--node',
        proxy.url,
        '--seed-file',
        seedFile,
        '--checkpoint',
        checkpointFile,
      ]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /qood owner balance: UNPROVEN: the node's answer for acct\/[0-9a-f]{64} at height \d+ does not check/,
      );
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
