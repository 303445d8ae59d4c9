/**
 * The device key on disk (issue 14, item 13): it is written durably (the file and its folder are
 * fsynced before the key is used), and a key file a power cut left empty, or one that is not a
 * key, stops the start naming the file instead of being replaced by a new key.
 */
import * as fs from 'node:fs';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { agentConfigSchema } from '../../../../agent/config/index.js';
import { loadDevice } from '../../../../agent/main/load-device.js';
import { DeviceIdentityError } from '../../../../agent/seal/index.js';
import { silentLogger } from '../../../../process/log.js';

// Every fsync the code under test makes is seen here (ESM namespaces cannot be spied on directly).
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  return { ...real, fsyncSync: vi.fn(real.fsyncSync) };
});

const dir = mkdtempSync(join(tmpdir(), 'qood-load-device-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (dataDir: string) =>
  agentConfigSchema.parse({
    device: { vehicleId: 'car-key', dataDir, socketPath: join(dir, 'unused.sock') },
  });

describe('device key file', () => {
  it('a new device key is fsynced, with its folder, before it is used, and is 0600', () => {
    const dataDir = mkdtempSync(join(dir, 'new-'));
    const fsync = vi.mocked(fs.fsyncSync);
    fsync.mockClear();
    const d = loadDevice(config(dataDir), silentLogger);
    expect(d.publicKey).toHaveLength(32);
    // One fsync of the key's bytes and one of the folder that holds its new name.
    expect(fsync.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(statSync(join(dataDir, 'device.key')).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dataDir)).toEqual(['device.key']);
    // The second start reads the same key and writes nothing.
    fsync.mockClear();
    expect(loadDevice(config(dataDir), silentLogger).publicKey).toEqual(d.publicKey);
    expect(fsync).not.toHaveBeenCalled();
  });

  it('a zero-length device.key (a power cut) is a clear error naming the file, never a new key', () => {
    const dataDir = mkdtempSync(join(dir, 'empty-'));
    const file = join(dataDir, 'device.key');
    writeFileSync(file, '', { mode: 0o600 });
    const err = (() => {
      try {
        loadDevice(config(dataDir), silentLogger);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(DeviceIdentityError);
    expect(err).toMatchObject({ code: 'BAD_KEY_FILE', file });
    expect((err as Error).message).toContain(`${file}: the device key file is empty`);
    expect(fs.readFileSync(file, 'utf8')).toBe('');
  });

  it('a damaged device.key is an error naming the file and is left as it is', () => {
    const dataDir = mkdtempSync(join(dir, 'bad-'));
    const file = join(dataDir, 'device.key');
    writeFileSync(file, 'abcd\n', { mode: 0o600 });
    expect(() => loadDevice(config(dataDir), silentLogger)).toThrow(`${file}: expected 64 hex digits`);
    expect(fs.readFileSync(file, 'utf8')).toBe('abcd\n');
  });
});
