/**
 * The listener API in process: the grantee decrypts exactly its granted paths at the granted
 * rounding and rate; another key cannot; a stream stops at the first tick after expiry, lapsed
 * payment or revocation; pulls are checked and answered; the permission store keeps grants,
 * revocations, nonces and the audit log across a reopen, and refuses to alter the audit log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { quantize } from '../../../../agent/permissions/index.js';
import { SqlitePermissionStore } from '../../../../agent/store/index.js';
import { ListenerReader, signPull, toHex } from '../../../../chain/index.js';
import { keyPair, permissionRig } from '../../../support/permissions.js';

/** A rig whose published listener messages are collected. */
function listeningRig(opts: { maxRateHz?: number } = {}) {
  const sent: { topic: string; bytes: Uint8Array }[] = [];
  const uplink = {
    connected: true,
    publish: async (topic: string, bytes: Uint8Array) => {
      sent.push({ topic, bytes });
    },
    subscribe: async () => {},
    onMessage: () => () => {},
    onConnect: () => () => {},
    onDisconnect: () => () => {},
    close: async () => {},
  };
  const rig = permissionRig({ uplink, ...opts });
  return { rig, sent };
}

describe('listener: push', () => {
  it('the grantee decrypts exactly the granted paths, rounded as granted; another key cannot open them', () => {
    const { rig, sent } = listeningRig();
    const id = rig.grant('listen', ['Vehicle.Speed', 'Vehicle.CurrentLocation.Latitude'], {
      rateHz: 1,
      granularity: new Map([
        ['Vehicle.Speed', 10],
        ['Vehicle.CurrentLocation.Latitude', 0.01],
      ]),
    });
    rig.setSignal('Vehicle.Speed', 57.3);
    rig.setSignal('Vehicle.CurrentLocation.Latitude', 47.376887);
    rig.setSignal('Vehicle.Powertrain.CombustionEngine.Speed', 2150);
    expect(rig.perms.hub.tick()).toBe(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.topic).toBe(`qood/v1/sim-perm-1/listen/${id}`);
    const msg = new ListenerReader(rig.grantee.secretKey, rig.device.publicKey).open(sent[0]!.bytes);
    expect(msg.grantId).toBe(id);
    expect(Object.fromEntries(msg.values.map(([p, v]) => [p, v]))).toEqual({
      'Vehicle.Speed': 60,
      'Vehicle.CurrentLocation.Latitude': 47.38,
    });
    expect(() => new ListenerReader(keyPair().secretKey, rig.device.publicKey).open(sent[0]!.bytes)).toThrow(
      /authentication|AUTH/i,
    );
    // No plaintext on the wire.
    const wire = Buffer.from(sent[0]!.bytes).toString('latin1');
    expect(wire).not.toContain('Vehicle');
  });

  it('pushes at the granted rate, and only when a value changed', () => {
    const { rig, sent } = listeningRig();
    rig.grant('listen', ['Vehicle.Speed'], { rateHz: 2 });
    for (let t = 0; t < 2000; t += 50) {
      rig.setSignal('Vehicle.Speed', t / 100);
      rig.perms.hub.tick();
      rig.clock.nowMs += 50;
    }
    expect(sent).toHaveLength(4);
    const before = sent.length;
    for (let i = 0; i < 40; i++) {
      rig.perms.hub.tick();
      rig.clock.nowMs += 50;
    }
    expect(sent.length).toBe(before + 1); // the last value once, then nothing new
  });

  it('the device caps the rate a grant asks for', () => {
    const { rig, sent } = listeningRig({ maxRateHz: 5 });
    rig.grant('listen', ['Vehicle.Speed'], { rateHz: 100 });
    for (let t = 0; t < 1000; t += 10) {
      rig.setSignal('Vehicle.Speed', t);
      rig.perms.hub.tick();
      rig.clock.nowMs += 10;
    }
    expect(sent).toHaveLength(5);
  });

  it('stops at the first tick after expiry', () => {
    const { rig, sent } = listeningRig();
    rig.grant('listen', ['Vehicle.Speed'], { rateHz: 10 }, { toMs: rig.clock.nowMs + 1000 });
    let lastMs = 0;
    for (let t = 0; t < 2000; t += 50) {
      rig.setSignal('Vehicle.Speed', t);
      if (rig.perms.hub.tick() > 0) lastMs = t;
      rig.clock.nowMs += 50;
    }
    expect(lastMs).toBeLessThan(1000);
    expect(lastMs).toBeGreaterThanOrEqual(900);
    expect(rig.perms.hub.activeStreams).toBe(0);
    expect(sent.length).toBe(10);
  });

  it('stops at once on revoke: no sample sealed after revoke returns', () => {
    const { rig, sent } = listeningRig();
    const id = rig.grant('listen', ['Vehicle.Speed'], { rateHz: 10 });
    const other = rig.grant('listen', ['Vehicle.Speed'], { rateHz: 10 });
    rig.setSignal('Vehicle.Speed', 1);
    rig.perms.hub.tick();
    rig.perms.revoke(id);
    const after = sent.length;
    for (let i = 0; i < 20; i++) {
      rig.clock.nowMs += 100;
      rig.setSignal('Vehicle.Speed', i + 2);
      rig.perms.hub.tick();
    }
    expect(sent.slice(after).every((m) => m.topic.endsWith(other))).toBe(true);
    expect(sent.length - after).toBe(20);
  });

  it('a paid grant flows only once the chain shows the payment', () => {
    const { rig, sent } = listeningRig();
    const id = rig.grant('listen', ['Vehicle.Speed'], { rateHz: 10, minPaid: 1000n });
    rig.setSignal('Vehicle.Speed', 3);
    rig.perms.hub.tick();
    expect(sent).toHaveLength(0);
    rig.perms.registry.applyChainRecord(id, { revoked: false, paid: 1000n, toMs: rig.clock.nowMs + 60_000 });
    rig.perms.hub.tick();
    expect(sent).toHaveLength(1);
  });
});

describe('listener: pull', () => {
  it('answers a signed pull with the nonce, refuses a replay, a stranger and a grant without pull', () => {
    const { rig, sent } = listeningRig();
    const id = rig.grant('listen', ['Vehicle.Speed'], { rateHz: 1, pull: true });
    const noPull = rig.grant('listen', ['Vehicle.Speed'], { rateHz: 1 });
    rig.setSignal('Vehicle.Speed', 42);
    rig.perms.hub.tick();
    sent.length = 0;
    const nonce = toHex(new Uint8Array(16).fill(7));
    const req = signPull({ grantId: id, nonce, issuedMs: rig.clock.nowMs }, rig.grantee.signer);
    rig.clock.nowMs += 1000;
    expect(rig.perms.hub.handlePull(id, req)).toBeUndefined();
    expect(sent).toHaveLength(1);
    const msg = new ListenerReader(rig.grantee.secretKey, rig.device.publicKey).open(sent[0]!.bytes);
    expect(msg.pullNonce).toBe(nonce);
    expect(msg.values[0]!.slice(0, 2)).toEqual(['Vehicle.Speed', 42]);
    rig.clock.nowMs += 1000;
    expect(rig.perms.hub.handlePull(id, req)?.code).toBe('REPLAYED');
    const stranger = signPull(
      { grantId: id, nonce: toHex(new Uint8Array(16).fill(8)), issuedMs: rig.clock.nowMs },
      keyPair().signer,
    );
    expect(rig.perms.hub.handlePull(id, stranger)?.code).toBe('WRONG_GRANTEE');
    const np = signPull(
      { grantId: noPull, nonce: toHex(new Uint8Array(16).fill(9)), issuedMs: rig.clock.nowMs },
      rig.grantee.signer,
    );
    expect(rig.perms.hub.handlePull(noPull, np)?.code).toBe('OUT_OF_SCOPE');
    expect(rig.perms.hub.handlePull(id, new Uint8Array([1, 2, 3]))?.code).toBe('MALFORMED');
    expect(sent).toHaveLength(1);
    // The stranger's and the malformed pulls prove no grantee sent them: counted in one summary
    // row of the grant's window (issue 14, attack 10), written out when the owner reads the log.
    rig.perms.summary.flush();
    const pulls = rig.store.audit({ limit: 10 }).filter((r) => r.kind === 'pull');
    expect(pulls.map((r) => [r.outcome, r.reason])).toEqual([
      ['executed', 'OK'],
      ['refused', 'REPLAYED'],
      ['refused', 'OUT_OF_SCOPE'],
      ['summarised', 'WRONG_GRANTEE'],
    ]);
    expect(JSON.parse(pulls[3]!.args)).toMatchObject({
      count: 2,
      reasons: { WRONG_GRANTEE: 1, MALFORMED: 1 },
    });
  });
});

describe('rounding', () => {
  it('rounds to the step without float noise', () => {
    expect(quantize(57.3, 10)).toBe(60);
    expect(quantize(0.3 * 3, 0.1)).toBe(0.9);
    expect(quantize(8.54321, 0.01)).toBe(8.54);
    expect(quantize(-3.5, 1)).toBe(-3);
  });
});

describe('the SQLite permission store', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps grants, revocations, nonces and the audit log across a reopen; the audit log cannot be altered', async () => {
    dir = mkdtempSync(join(tmpdir(), 'qood-perm-'));
    const path = join(dir, 'agent.db');
    const store = new SqlitePermissionStore({ path });
    const rig = permissionRig({ store });
    const a = rig.grant('control', ['lock']);
    const b = rig.grant('listen', ['Vehicle.Speed']);
    rig.setSignal('Vehicle.Speed', 0);
    rig.setSignal('Vehicle.Powertrain.CombustionEngine.IsRunning', false);
    const cmd = rig.command(a, 'lock');
    expect((await rig.perms.control!.handle(a, cmd)).receipt.outcome).toBe('executed');
    rig.perms.revoke(b);
    store.close();

    const again = new SqlitePermissionStore({ path });
    const rows = again.grants();
    expect(rows.map((r) => r.id).sort()).toEqual([a, b].sort());
    expect(rows.find((r) => r.id === b)!.revokedBy).toBe('owner');
    const last = again.audit({ grantId: a, limit: 1 })[0]!;
    expect(again.recordNonce(a, last.nonce, 0)).toBe(false);
    expect(again.audit({ limit: 10 }).map((r) => r.kind)).toEqual(['grant', 'grant', 'control', 'revoke']);
    expect(again.executionsSince(a, 0)).toHaveLength(1);
    again.close();

    // The audit log refuses UPDATE and DELETE at the SQLite level.
    const { default: Database } = await import('better-sqlite3');
    const raw = new Database(path);
    expect(() => raw.prepare("UPDATE audit SET outcome = 'executed'").run()).toThrow(/append-only/);
    expect(() => raw.prepare('DELETE FROM audit').run()).toThrow(/append-only/);
    expect(raw.prepare('SELECT kind FROM outbox ORDER BY seq').pluck().all()).toEqual([
      'controlExec',
      'revoke-request',
    ]);
    raw.close();
  });
});
