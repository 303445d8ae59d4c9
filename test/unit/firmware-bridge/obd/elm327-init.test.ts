import { describe, expect, it } from 'vitest';
import { Elm327, MemorySerialPair } from '../../../../firmware-bridge/index.js';
import { VehicleEcu } from '../../../../simulators/elm327/ecus.js';
import { Elm327Device } from '../../../../simulators/elm327/elm327-device.js';
import { Elm327Emulator, type EmulatedCar } from '../../../../simulators/elm327/elm327-emulator.js';
import { IDLE_VEHICLE } from '../../../../simulators/vehicle/state.js';

function adapter(car: EmulatedCar, chip: { version?: string; deviceDescription?: string | null } = {}) {
  const pair = new MemorySerialPair();
  const device = new Elm327Device({ link: pair.b, emulator: new Elm327Emulator({ car, ...chip }) });
  return { elm: new Elm327({ link: pair.a, timeouts: { atMs: 300, obdMs: 300, searchMs: 500 } }), device };
}

const engine = (address: number) => new VehicleEcu({ source: { current: () => IDLE_VEHICLE }, address });

describe('ELM327 initialisation', () => {
  it('works on a v2.1 clone that rejects AT@1, and finds a 29-bit CAN car', async () => {
    const { elm } = adapter(
      { bus: 'can29', canKbps: 500, ecus: [engine(0x18daf110)] },
      { version: 'ELM327 v2.1', deviceDescription: null },
    );
    const info = await elm.initialise();
    expect(info).toMatchObject({
      version: 'ELM327 v2.1',
      device: undefined,
      protocolNumber: 'A7',
      vehicle: 'ok',
      unsupported: ['AT@1'],
    });
    expect(info.protocol).toBe('ISO 15765-4 (CAN 29/500)');
    const r = await elm.request(Uint8Array.of(0x01, 0x0c));
    expect(r[0]).toMatchObject({ ecu: '18DAF110' });
    expect(r[0]!.data[2]! * 256 + r[0]!.data[3]!).toBe(780 * 4);
  });

  it('finds a K-line car (ISO 14230 fast init) and checks its legacy checksums', async () => {
    const { elm } = adapter({ bus: 'kwp', canKbps: 500, ecus: [engine(0x10)] });
    const info = await elm.initialise();
    expect(info).toMatchObject({ protocolNumber: 'A5', protocol: 'ISO 14230-4 (KWP FAST)', vehicle: 'ok' });
    const r = await elm.request(Uint8Array.of(0x01, 0x0d));
    expect(r).toEqual([{ ecu: '10', data: Uint8Array.of(0x41, 0x0d, 0) }]);
  });

  it('initialises with the ignition off and says why the car is silent', async () => {
    const { elm } = adapter({ bus: 'none', canKbps: 500, ecus: [] });
    const info = await elm.initialise();
    expect(info).toMatchObject({
      version: 'ELM327 v1.5',
      protocol: undefined,
      protocolNumber: 'A0',
      vehicle: 'UNABLE_TO_CONNECT',
    });
  });

  it('rejects with TIMEOUT when nothing answers on the port', async () => {
    const pair = new MemorySerialPair();
    const elm = new Elm327({ link: pair.a, timeouts: { resetMs: 100 } });
    await expect(elm.initialise()).rejects.toMatchObject({ code: 'TIMEOUT' });
    await elm.close();
  });
});
