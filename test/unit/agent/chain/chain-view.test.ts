import { describe, expect, it } from 'vitest';
import { ChainView, finalityTopic } from '../../../../agent/chain/index.js';
import { MemoryBroker } from '../../../../agent/sync/memory-uplink.js';
import {
  encodeCanonical,
  encodeStateProof,
  encodeUpdate,
  proveKey,
  stateKey,
} from '../../../../chain/index.js';
import { silentLogger } from '../../../../process/log.js';
import { Metrics } from '../../../../process/metrics.js';
import { chainViewRig, REVOKED_AT } from '../../../support/chain-view-rig.js';
import { checkpointAt, LIGHT_T0, updateAt, votesAt } from '../../../support/light-chain.js';

const NOW = LIGHT_T0 + 60_000;
const flush = () => new Promise((r) => setTimeout(r, 5));

function setup() {
  const rig = chainViewRig();
  const broker = new MemoryBroker();
  const device = broker.connect('device');
  const node = broker.connect('node');
  const metrics = new Metrics();
  const view = new ChainView({
    checkpoint: checkpointAt(rig.chain, 1),
    uplink: device,
    metrics,
    logger: silentLogger,
    grants: rig.registry,
  });
  view.start();
  const publish = async (bytes: Uint8Array) => {
    await node.publish(finalityTopic(), bytes);
    await flush();
  };
  return { rig, broker, device, node, metrics, view, publish };
}

const counter = (m: Metrics, name: string) => m.snapshot().counters[name] ?? 0;

describe('ChainView over the memory uplink', () => {
  it('follows updates on qood/v1/chain/finality and hands proven grant records to the registry', async () => {
    const { rig, view, metrics, publish } = setup();
    await flush();
    expect(finalityTopic()).toBe('qood/v1/chain/finality');
    expect(view.grantStatus(rig.grantId, NOW)).toEqual({ state: 'unknown' });
    await publish(rig.updateBytes(2));
    expect(view.grantStatus(rig.grantId, NOW).state).toBe('absent');
    await publish(rig.updateBytes(4));
    expect(view.finalHeight).toBe(4);
    expect(view.grantStatus(rig.grantId, NOW).state).toBe('valid');
    expect(view.grantStatus(rig.grantId, LIGHT_T0 + 3_600_000).state).toBe('expired');
    expect(rig.registry.get(rig.grantId)?.chainToMs).toBe(LIGHT_T0 + 3_600_000);
    expect(rig.registry.get(rig.grantId)?.revokedMs).toBeNull();
    // Through a schedule change (elected at 3, active from 8) to the revocation at 9.
    await publish(rig.updateBytes(REVOKED_AT));
    expect(view.finalHeight).toBe(REVOKED_AT);
    expect(view.client.schedule).toEqual(rig.chain.active[REVOKED_AT]);
    expect(rig.chain.activations).toEqual([8]);
    expect(view.grantStatus(rig.grantId, NOW).state).toBe('revoked');
    expect(rig.registry.get(rig.grantId)?.revokedBy).toBe('chain');
    expect(counter(metrics, 'chain.updates')).toBe(3);
    expect(counter(metrics, 'chain.grantRecords')).toBe(3);
    expect(counter(metrics, 'chain.refused')).toBe(0);
  });

  it('counts and logs garbage, stale, forged and wrongly proven updates by reason, and keeps following', async () => {
    const { rig, view, metrics, publish, broker } = setup();
    await flush();
    await publish(rig.updateBytes(3));
    broker.inject(finalityTopic(), Uint8Array.of(0xff, 0x00, 0x13));
    broker.inject(finalityTopic(), encodeCanonical([1, 'not an update']));
    await flush();
    await publish(rig.updateBytes(2));
    const u = updateAt(rig.chain, 4, [stateKey.grant(rig.grantId)]);
    await publish(encodeUpdate({ ...u, votes: votesAt(rig.chain, 4, 2) }));
    const alien = proveKey(rig.chain.states[4]!, stateKey.supply());
    await publish(encodeUpdate({ ...u, proofs: [{ ...u.proofs[0]!, value: alien.value }] }));
    expect(counter(metrics, 'chain.refused.MALFORMED')).toBe(2);
    expect(counter(metrics, 'chain.refused.STALE_UPDATE')).toBe(1);
    expect(counter(metrics, 'chain.refused.BAD_CERTIFICATE')).toBe(1);
    expect(counter(metrics, 'chain.refused.WRONG_PROOF')).toBe(1);
    expect(counter(metrics, 'chain.refused')).toBe(5);
    expect(view.finalHeight).toBe(3);
    await publish(rig.updateBytes(4));
    expect(view.finalHeight).toBe(4);
    // Other topics are not the view's business.
    broker.inject('qood/v1/chain/other', Uint8Array.of(1));
    await flush();
    expect(counter(metrics, 'chain.refused')).toBe(5);
  });

  it('checks a single state proof of a grant against the head', async () => {
    const { rig, view, publish } = setup();
    await flush();
    await publish(rig.updateBytes(4)); // the first of round 1: it proves the next schedule
    await publish(rig.updateBytes(10));
    expect(view.finalHeight).toBe(10);
    const p = proveKey(rig.chain.states[10]!, stateKey.grant(rig.grantId));
    const bytes = encodeStateProof({ height: 10, proof: { key: p.key, value: p.value, proof: p.proof } });
    const status = view.checkGrant(rig.grantId, bytes, NOW);
    expect('state' in status && status.state).toBe('revoked');
    const stale = encodeStateProof({ height: 9, proof: { key: p.key, value: p.value, proof: p.proof } });
    expect(view.checkGrant(rig.grantId, stale, NOW)).toMatchObject({ code: 'PROOF_NOT_AT_HEAD' });
    expect(view.checkGrant('00'.repeat(32), bytes, NOW)).toMatchObject({ code: 'WRONG_PROOF' });
    expect(view.checkGrant(rig.grantId, Uint8Array.of(1, 2, 3), NOW)).toMatchObject({ code: 'MALFORMED' });
  });

  it('subscribes again after the broker comes back, and stops listening on stop()', async () => {
    const { rig, view, broker, publish, metrics } = setup();
    await flush();
    broker.setUp(false);
    await flush();
    broker.setUp(true);
    await flush();
    await publish(rig.updateBytes(2));
    expect(view.finalHeight).toBe(2);
    view.stop();
    await publish(rig.updateBytes(3));
    expect(view.finalHeight).toBe(2);
    expect(counter(metrics, 'chain.updates')).toBe(1);
  });
});

describe('ChainView state and trust window (issue 14, attack 8)', () => {
  const DAY = 86_400_000;

  function view(nowMs: () => number, saveState?: (cp: unknown) => void) {
    const rig = chainViewRig();
    const metrics = new Metrics();
    const v = new ChainView({
      checkpoint: checkpointAt(rig.chain, 1),
      uplink: new MemoryBroker().connect('device'),
      metrics,
      logger: silentLogger,
      grants: rig.registry,
      nowMs,
      maxCheckpointAgeMs: 30 * DAY,
      saveIntervalMs: 60_000,
      ...(saveState === undefined ? {} : { saveState }),
    });
    return { rig, v, metrics };
  }

  it('a stale view refuses updates and state proofs, counts them, and moves again only within the window', () => {
    let now = LIGHT_T0 + 31 * DAY;
    const { rig, v, metrics } = view(() => now);
    expect(v.stale).toBe(true);
    expect(v.status()).toMatchObject({ state: 'stale', finalHeight: 1, maxCheckpointAgeDays: 30 });
    expect(v.receive(rig.updateBytes(4))).toMatchObject({ code: 'STALE_CHECKPOINT' });
    const state = rig.chain.states[1]!;
    const p = proveKey(state, stateKey.grant(rig.grantId));
    const proof = encodeStateProof({
      height: 1,
      proof: { key: stateKey.grant(rig.grantId), value: p.value, proof: p.proof },
    });
    expect(v.checkGrant(rig.grantId, proof, now)).toMatchObject({ code: 'STALE_CHECKPOINT' });
    expect(counter(metrics, 'chain.refused.STALE_CHECKPOINT')).toBe(1);
    expect(metrics.snapshot().gauges['chain.stale']).toBe(1);
    expect(v.finalHeight).toBe(1);
    // Within the window (a device whose clock was wrong, corrected), it follows again.
    now = LIGHT_T0 + 60_000;
    expect(v.stale).toBe(false);
    expect(v.receive(rig.updateBytes(4))).toBeUndefined();
    expect(v.status()).toMatchObject({ state: 'following', finalHeight: 4 });
  });

  it('saves at once on a schedule change, otherwise at most every saveIntervalMs, and at stop; a failed save is counted', () => {
    let now = LIGHT_T0 + 60_000;
    const saved: number[] = [];
    let fail = false;
    const { rig, v, metrics } = view(
      () => now,
      (cp) => {
        if (fail) throw new Error('EROFS');
        saved.push((cp as { header: { height: number } }).header.height);
      },
    );
    expect(v.receive(rig.updateBytes(2))).toBeUndefined(); // first accepted update: saved
    expect(v.receive(rig.updateBytes(3))).toBeUndefined(); // within the interval: not yet
    expect(saved).toEqual([2]);
    expect(v.receive(rig.updateBytes(4))).toBeUndefined(); // proves the next round's new schedule: at once
    expect(v.receive(rig.updateBytes(8))).toBeUndefined(); // the new schedule activates: at once
    expect(saved).toEqual([2, 4, 8]);
    now += 60_000;
    expect(v.receive(rig.updateBytes(9))).toBeUndefined(); // the interval passed
    expect(v.receive(rig.updateBytes(10))).toBeUndefined();
    expect(saved).toEqual([2, 4, 8, 9]);
    fail = true;
    v.stop(); // 10 is not saved yet: tried at stop, and the failure only counted
    expect(counter(metrics, 'chain.stateSaveErrors')).toBe(1);
    fail = false;
    v.stop();
    expect(saved).toEqual([2, 4, 8, 9, 10]);
    expect(counter(metrics, 'chain.stateSaves')).toBe(5);
  });
});
