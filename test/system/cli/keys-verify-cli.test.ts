/**
 * `qood keys` and `qood verify` as an owner and a buyer run them: a new seed, a device paired on
 * its data folder, chunks sealed with that pairing, epoch keys exported, and the batch verified from
 * files; then a tampered chunk and a wrong keys file, each refused with its reason and exit 1.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Chunker, type PlainChunk } from '../../../agent/chunk/index.js';
import { BatchBuilder, loadBinding, loadOrCreateDeviceKey, Sealer } from '../../../agent/seal/index.js';
import { Ed25519Signer } from '../../../chain/index.js';
import { runQood } from '../../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const seedFile = join(dir, 'seed.txt');
const dataDir = join(dir, 'device');
const T0_MS = Date.UTC(2026, 10, 25, 8);

describe('qood keys and qood verify', () => {
  it('make a seed, pair a device, seal a batch, export keys and verify it; tampering exits 1 with the reason', () => {
    const seed = runQood(['keys', 'new-seed', '--out', seedFile]);
    expect(seed.status).toBe(0);
    expect(seed.stdout).toMatch(/^owner public key [0-9a-f]{64}\n$/);
    expect(statSync(seedFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(seedFile, 'utf8').trim().split(' ')).toHaveLength(24);
    expect(runQood(['keys', 'new-seed', '--out', seedFile]).status).toBe(2); // never overwritten

    // Pairing makes the data folder and the device key when they are not there yet.
    const pair = runQood([
      'keys',
      'pair',
      '--seed-file',
      seedFile,
      '--vehicle',
      'car-7',
      '--data-dir',
      dataDir,
      '--epoch-hours',
      '1',
    ]);
    expect(pair.stderr).toBe('');
    const pub = runQood(['keys', 'device', '--data-dir', dataDir]);
    expect(pub.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(pair.stdout).toContain(`paired device ${pub.stdout.trim()} with vehicle car-7`);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);

    // The device seals with what pairing gave it.
    const device = loadOrCreateDeviceKey(dataDir);
    const paired = loadBinding(dataDir, device, 'car-7')!;
    const sealer = new Sealer({
      identity: {
        vehicleId: 'car-7',
        deviceSecretKey: device.secretKey,
        dataRoot: paired.dataRoot,
        oemPublicKey: null,
        epochLengthS: 3600,
        dictionaryId: 'qood-vss-6.0+obd-4.0',
      },
      loadHead: () => undefined,
    });
    const batch = new BatchBuilder({
      vehicleId: 'car-7',
      dictionaryId: 'qood-vss-6.0+obd-4.0',
      ownerPublicKey: paired.binding.ownerPublicKey,
      epochLengthS: 3600,
      signer: new Ed25519Signer(device.secretKey),
    });
    const chunks: PlainChunk[] = [];
    const chunker = new Chunker({
      maxSpanMs: 1e9,
      maxSamples: 100,
      maxAgeMs: 1e9,
      firstSeq: () => 0,
      onChunk: (c) => chunks.push(c),
    });
    const stream = {
      id: 'drive',
      scheme: 'drive',
      dataClass: 'owner',
      privacy: 'normal',
      priority: 5,
    } as const;
    for (let i = 0; i < 450; i++)
      chunker.add(stream, { path: 'Vehicle.Speed', tUs: (T0_MS + i * 10_000) * 1000, value: i % 90 }, 0);
    chunker.flush(0);
    const chunkDir = join(dir, 'chunks');
    mkdirSync(chunkDir);
    for (const c of chunks) {
      const s = sealer.seal(c);
      batch.add(s);
      writeFileSync(join(chunkDir, `${String(s.seq).padStart(4, '0')}.chunk`), s.bytes);
    }
    const descriptor = join(dir, 'batch.descriptor');
    writeFileSync(descriptor, batch.cut(Date.now())!.bytes);

    const keys = join(dir, 'keys.json');
    const exp = runQood([
      'keys',
      'export',
      '--seed-file',
      seedFile,
      '--vehicle',
      'car-7',
      '--stream',
      'drive',
      '--from',
      new Date(T0_MS).toISOString(),
      '--to',
      new Date(T0_MS + 3_600_000 * 2).toISOString(),
      '--epoch-hours',
      '1',
      '--out',
      keys,
    ]);
    expect(exp.stdout).toBe('3 keys written to ' + keys + '\n');

    const ok = runQood([
      'verify',
      '--descriptor',
      descriptor,
      '--keys',
      keys,
      '--chunks',
      chunkDir,
      '--json',
    ]);
    expect(ok.status).toBe(0);
    const report = JSON.parse(ok.stdout) as { ok: boolean; chunks: unknown[] };
    expect(report.ok).toBe(true);
    expect(report.chunks).toHaveLength(5);
    const mine = runQood([
      'verify',
      '--descriptor',
      descriptor,
      '--seed-file',
      seedFile,
      '--chunks',
      chunkDir,
      '--samples',
    ]);
    expect(mine.status).toBe(0);
    expect(mine.stdout.trim().split('\n')).toHaveLength(450);
    expect(mine.stderr).toMatch(/^OK descriptor [0-9a-f]{64}: 5 chunks, 450 samples/);

    const third = join(chunkDir, '0002.chunk');
    const bytes = readFileSync(third);
    bytes[bytes.length - 3]! ^= 0x10;
    writeFileSync(third, bytes);
    const bad = runQood(['verify', '--descriptor', descriptor, '--keys', keys, '--chunks', chunkDir]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(
      /FAIL chunk file 3: chunk drive#2 \([0-9a-f]{16}\): the ciphertext does not match the hash in its header/,
    );
    expect(bad.stderr).toMatch(/FAIL chunk drive#2: missing from the batch/);

    const wrong = join(dir, 'wrong.json');
    writeFileSync(
      wrong,
      JSON.stringify({ keys: [{ stream: 'drive', class: 'owner', epoch: 1, key: 'zz' }] }),
    );
    const usage = runQood(['verify', '--descriptor', descriptor, '--keys', wrong, '--chunks', chunkDir]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain(
      'keys[0]: expected {"stream": text, "class": text, "epoch": integer, "key": 64 hex digits}',
    );
  }, 60_000);

  it('refuses a seed file with a wrong word, naming it', () => {
    const f = join(dir, 'bad-seed.txt');
    writeFileSync(f, `${'abandon '.repeat(23)}qoodblock\n`);
    const r = runQood(['keys', 'owner', '--seed-file', f]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("word 24 ('qoodblock') is not a BIP-39 English word");
  });
});
