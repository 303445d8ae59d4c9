/**
 * Grant intake and vehicle profiles: a bundle is accepted only when the owner of the binding signed
 * it for this vehicle with these terms, and refused with a reason otherwise; a profile is checked
 * field by field, and the actuator writes a sequence at its offsets with its arguments.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BASE_TERMS,
  decodeGrantBundle,
  encodeGrantBundle,
  encodeTerms,
  issueGrant,
  loadProfileFile,
  verifyGrantBundle,
} from '../../../../agent/permissions/index.js';
import { encodeCanonical, encodeSignedTx } from '../../../../chain/index.js';
import { CanActuator, CanWire, parseVehicleProfile } from '../../../../firmware-bridge/index.js';
import { keyPair, VEHICLE } from '../../../support/permissions.js';

const NOW = Date.UTC(2025, 0, 1);

describe('grant intake', () => {
  const owner = keyPair();
  const grantee = keyPair();
  const device = { ownerPublicKey: owner.publicKey, vehicleId: VEHICLE };
  const issue = (o: Partial<Parameters<typeof issueGrant>[0]> = {}) =>
    issueGrant({
      ownerSecretKey: owner.secretKey,
      vehicleId: VEHICLE,
      grantee: grantee.hex,
      kind: 'control',
      scope: ['unlock'],
      fromMs: NOW,
      toMs: NOW + 60_000,
      terms: BASE_TERMS,
      ...o,
    });

  it('accepts the owner-signed grant and gives it the transaction id', () => {
    const { id, bundle } = issue();
    const v = verifyGrantBundle(bundle, device, NOW);
    expect(v.id).toBe(id);
    expect(v.body).toMatchObject({ kind: 'control', scope: ['unlock'], grantee: grantee.hex });
  });

  const refusals: [string, string, () => Uint8Array][] = [
    ['signed by another key', 'NOT_OWNER', () => issue({ ownerSecretKey: keyPair().secretKey }).bundle],
    ['for another vehicle', 'WRONG_VEHICLE', () => issue({ vehicleId: 'other-car' }).bundle],
    ['already ended', 'EXPIRED', () => issue({ fromMs: NOW - 100, toMs: NOW - 1 }).bundle],
    ['an empty window', 'BAD_WINDOW', () => issue({ fromMs: NOW + 10, toMs: NOW + 10 }).bundle],
    [
      'terms swapped after signing',
      'TERMS_MISMATCH',
      () => {
        const { bundle } = issue();
        const { tx } = decodeGrantBundle(bundle);
        return encodeGrantBundle(
          encodeSignedTx(tx),
          encodeTerms({ ...BASE_TERMS, whileEngineRunning: true }),
        );
      },
    ],
    [
      'a forged signature',
      'BAD_SIGNATURE',
      () => {
        const { tx, termsBytes } = decodeGrantBundle(issue().bundle);
        const sig = tx.signature.slice();
        sig[3]! ^= 1;
        return encodeGrantBundle(encodeSignedTx({ ...tx, signature: sig }), termsBytes);
      },
    ],
    ['garbage', 'MALFORMED', () => new TextEncoder().encode('grant me everything')],
    ['a bundle of the wrong shape', 'MALFORMED', () => encodeCanonical([1, new Uint8Array(3)])],
    ['an oversized bundle', 'MALFORMED', () => new Uint8Array(20_000)],
  ];
  for (const [name, code, make] of refusals)
    it(`refuses ${name}: ${code}`, () => {
      expect(() => verifyGrantBundle(make(), device, NOW)).toThrow(expect.objectContaining({ code }));
    });
});

describe('vehicle profiles', () => {
  const good = {
    version: 1,
    name: 'test',
    commands: {
      horn: { args: { ms: { min: 10, max: 500 } }, steps: [{ frame: { id: 0x123, data: '01' } }] },
    },
  };

  it('names the field and what was expected', () => {
    const bad = (doc: unknown) => () => parseVehicleProfile(doc, 'p.yaml');
    expect(bad({ ...good, version: 2 })).toThrow('p.yaml: version: found 2; expected 1');
    expect(bad({ ...good, commands: { Horn: good.commands.horn } })).toThrow('commands.Horn');
    expect(bad({ ...good, commands: { horn: { steps: [{ frame: { id: 0x800, data: '01' } }] } } })).toThrow(
      'commands.horn.steps[0].frame.id: found 2048; expected an integer in 0..2047',
    );
    expect(bad({ ...good, commands: { horn: { steps: [{ frame: { id: 1, data: 'xyz' } }] } } })).toThrow(
      'commands.horn.steps[0].frame.data',
    );
    expect(
      bad({ ...good, commands: { horn: { steps: [{ message: 'M', signals: { A: '$nope' } }] } } }),
    ).toThrow('commands.horn.steps[0].signals.A: found "$nope"; expected a number or $arg');
    expect(
      bad({ ...good, commands: { horn: { steps: [{ frame: { id: 1, data: '' }, repeat: 65 }] } } }),
    ).toThrow('repeat');
    expect(
      bad({
        ...good,
        commands: {
          horn: {
            interlocks: [{ path: 'Vehicle.Speed', op: 'lte', value: 0 }],
            steps: good.commands.horn.steps,
          },
        },
      }),
    ).toThrow('commands.horn.interlocks[0].op');
    expect(bad({ ...good, commands: { horn: { steps: [{ message: 'M' }] } } })).toThrow(
      'dbc: expected a DBC file',
    );
  });

  it('keeps a step signal named __proto__ as a signal (profile names are data, not object internals)', () => {
    const profile = parseVehicleProfile(
      JSON.parse(
        '{"version":1,"name":"t","dbc":"x.dbc","commands":{"horn":{"steps":[{"message":"HORN","signals":{"__proto__":5,"Level":1}}]}}}',
      ),
      'p.yaml',
    );
    const step = profile.commands.get('horn')!.steps[0]!;
    if (step.kind !== 'message') throw new Error('expected a message step');
    expect(Object.keys(step.signals).sort()).toEqual(['Level', '__proto__']);
    expect(Object.hasOwn(step.signals, '__proto__')).toBe(true);
  });

  it('a profile file built to overflow the stack or to expand without end is BAD_PROFILE naming the limit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qood-profile-'));
    try {
      const deep = join(dir, 'deep.yaml');
      writeFileSync(deep, `${'['.repeat(100_000)}`);
      expect(() => loadProfileFile(deep)).toThrow(
        expect.objectContaining({ code: 'BAD_PROFILE', message: expect.stringMatching(/\(nesting\)/) }),
      );
      const bomb = join(dir, 'bomb.yaml');
      const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
      for (let i = 1; i < 9; i++) {
        const prev = String.fromCharCode(97 + i - 1);
        const name = String.fromCharCode(97 + i);
        lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
      }
      writeFileSync(bomb, `${lines.join('\n')}\n`);
      expect(() => loadProfileFile(bomb)).toThrow(
        expect.objectContaining({ code: 'BAD_PROFILE', message: expect.stringMatching(/\(aliases\)/) }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the actuator substitutes arguments, writes at the offsets, and refuses arguments out of range', async () => {
    const profile = parseVehicleProfile(
      {
        version: 1,
        name: 'test',
        dbc: 'x.dbc',
        commands: {
          horn: {
            args: { level: { min: 1, max: 3 } },
            steps: [
              { message: 'HORN', signals: { Level: '$level' } },
              { delayMs: 30 },
              { frame: { id: 0x123, data: '00' }, repeat: 2, intervalMs: 10 },
            ],
          },
        },
      },
      'p.yaml',
    );
    const wire = new CanWire({ record: true });
    const actuator = new CanActuator({
      bus: wire.attach('can0'),
      profile,
      encodeMessage: (_m, v) => ({ id: 0x100, data: Uint8Array.of(v.Level ?? 0xff) }),
    });
    const plan = actuator.plan('horn', { level: 2 });
    expect(plan.map((p) => [p.frame.id, p.atMs])).toEqual([
      [0x100, 0],
      [0x123, 30],
      [0x123, 40],
    ]);
    const t0 = performance.now();
    expect(await actuator.execute(plan)).toEqual({ framesWritten: 3 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
    expect(wire.sent.map((f) => f.data[0])).toEqual([2, 0, 0]);
    expect(() => actuator.plan('horn', { level: 9 })).toThrow(expect.objectContaining({ code: 'BAD_ARGS' }));
    expect(() => actuator.plan('horn', {})).toThrow(expect.objectContaining({ code: 'BAD_ARGS' }));
    expect(() => actuator.plan('wipe', {})).toThrow(expect.objectContaining({ code: 'UNKNOWN_COMMAND' }));
    expect(await actuator.execute(plan, () => 'revoked')).toEqual({ framesWritten: 0, refusedBy: 'revoked' });
    expect(wire.sent).toHaveLength(3);
  });
});
