/**
 * Issue 14, attack 4: conditions on listen grants. A listen grant for the exact location "only
 * while `Vehicle.Speed le 0`" must not deliver the location while the car moves, neither by push
 * nor by pull, nor when the speed signal has gone quiet; and a value sampled while the condition
 * did not hold is not delivered later once it holds again.
 */
import { describe, expect, it } from 'vitest';
import { ListenerReader, signPull, toHex } from '../../../../chain/index.js';
import { permissionRig } from '../../../support/permissions.js';

const LAT = 'Vehicle.CurrentLocation.Latitude';
const ONLY_PARKED = [{ path: 'Vehicle.Speed', op: 'le' as const, value: 0 }];

function listeningRig() {
  const sent: Uint8Array[] = [];
  const uplink = {
    connected: true,
    publish: async (_topic: string, bytes: Uint8Array) => {
      sent.push(bytes);
    },
    subscribe: async () => {},
    onMessage: () => () => {},
    onConnect: () => () => {},
    onDisconnect: () => () => {},
    close: async () => {},
  };
  const rig = permissionRig({ uplink });
  const opened = () =>
    sent.map((b) => new ListenerReader(rig.grantee.secretKey, rig.device.publicKey).open(b));
  return { rig, sent, opened };
}

describe('listener: the grant conditions hold on every push and pull', () => {
  it('a listen grant for the location only while parked pushes nothing at 90 km/h', () => {
    const { rig, sent } = listeningRig();
    rig.grant('listen', [LAT], { rateHz: 10, conditions: ONLY_PARKED });
    for (let i = 0; i < 20; i++) {
      rig.setSignal('Vehicle.Speed', 90);
      rig.setSignal(LAT, 47.3712 + i * 1e-4);
      rig.perms.hub.tick();
      rig.clock.nowMs += 100;
    }
    expect(sent).toHaveLength(0);
  });

  it('pushes while parked, stops when the car moves, and never delivers a location sampled while moving', () => {
    const { rig, opened } = listeningRig();
    rig.grant('listen', [LAT], { rateHz: 10, conditions: ONLY_PARKED });
    const step = (speed: number, lat: number) => {
      rig.setSignal('Vehicle.Speed', speed);
      rig.setSignal(LAT, lat);
      rig.perms.hub.tick();
      rig.clock.nowMs += 100;
    };
    step(0, 47.1);
    step(0, 47.2);
    step(90, 47.3);
    step(90, 47.4);
    // The car stops; the last location sample is still the one taken while moving.
    rig.setSignal('Vehicle.Speed', 0);
    rig.perms.hub.tick();
    rig.clock.nowMs += 100;
    step(0, 47.5);
    const lats = opened().flatMap((m) => m.values.filter((v) => v[0] === LAT).map((v) => v[1]));
    expect(lats).toEqual([47.1, 47.2, 47.5]);
  });

  it('the speed signal gone quiet stops the stream ("no news" is not "parked")', () => {
    const { rig, sent } = listeningRig();
    rig.grant('listen', [LAT], { rateHz: 10, conditions: ONLY_PARKED });
    rig.setSignal('Vehicle.Speed', 0);
    rig.setSignal(LAT, 47.1);
    rig.perms.hub.tick();
    expect(sent).toHaveLength(1);
    rig.clock.nowMs += 3000;
    rig.setSignal(LAT, 47.2);
    rig.perms.hub.tick();
    expect(sent).toHaveLength(1);
  });

  it('a pull while the condition does not hold is refused CONDITION and answered with nothing', () => {
    const { rig, sent } = listeningRig();
    const id = rig.grant('listen', [LAT], { rateHz: 1, pull: true, conditions: ONLY_PARKED });
    rig.setSignal('Vehicle.Speed', 90);
    rig.setSignal(LAT, 47.3);
    rig.perms.hub.tick();
    sent.length = 0;
    rig.clock.nowMs += 1000;
    rig.setSignal('Vehicle.Speed', 90);
    const req = signPull(
      { grantId: id, nonce: toHex(new Uint8Array(16).fill(3)), issuedMs: rig.clock.nowMs },
      rig.grantee.signer,
    );
    expect(rig.perms.hub.handlePull(id, req)?.code).toBe('CONDITION');
    expect(sent).toHaveLength(0);
    expect(rig.store.audit({ limit: 1 })[0]).toMatchObject({ kind: 'pull', reason: 'CONDITION' });
  });
});
