import { afterEach, describe, expect, it } from 'vitest';
import { CanWire, IsoTpObdTransport, ObdClient, ObdError } from '../../../../firmware-bridge/index.js';
import { TableEcu, VehicleEcu } from '../../../../simulators/elm327/ecus.js';
import { IsoTpEcus } from '../../../../simulators/elm327/isotp-ecus.js';
import { VehicleModel } from '../../../../simulators/vehicle/model.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(addressing: '11bit' | '29bit') {
  const wire = new CanWire({ record: true });
  const model = new VehicleModel({ vin: 'WQD0SIM1234567890' });
  model.addDtc('P0301');
  model.addDtc('P0420');
  model.addDtc('C0035', true);
  for (let i = 0; i < 30; i++) model.step(1000);
  const engineId = addressing === '11bit' ? 0x7e8 : 0x18daf110;
  const transId = addressing === '11bit' ? 0x7e9 : 0x18daf118;
  const ecus = new IsoTpEcus({
    wire,
    addressing,
    ecus: [
      new VehicleEcu({ source: model, address: engineId, clearDtcs: () => model.clearDtcs() }),
      // A transmission ECU: answers 0100 with PIDs 01-20 and 0D, its own DTC.
      new TableEcu(transId, {
        '0100': [[0x41, 0x00, 0x00, 0x08, 0x00, 0x00]],
        '010D': [[0x41, 0x0d, 0x2a]],
        '03': [[0x43, 0x01, 0x07, 0x00]],
      }),
    ],
  });
  const transport = new IsoTpObdTransport({ bus: wire.attach('tbox'), addressing, quietMs: 30 });
  cleanups.push(
    () => transport.close(),
    () => ecus.close(),
  );
  return {
    wire,
    model,
    transport,
    client: new ObdClient({ transport }),
    engine: engineId.toString(16).toUpperCase(),
    trans: transId.toString(16).toUpperCase(),
  };
}

for (const addressing of ['11bit', '29bit'] as const) {
  describe(`OBD over ISO-TP, ${addressing} addressing`, () => {
    it('discovers supported PIDs from several ECUs and reads a PID from each', async () => {
      const { client, model, engine, trans, wire } = setup(addressing);
      const sup = await client.supportedPids();
      expect(sup.byEcu.get(engine)).toContain(0x0c);
      expect(sup.byEcu.get(trans)).toEqual([0x0d]);
      expect(sup.all).toContain(0xa6);
      const speed = await client.readPid(0x0d);
      expect(speed.map((r) => r.ecu).sort()).toEqual([engine, trans].sort());
      expect(speed.find((r) => r.ecu === engine)!.data[2]).toBe(Math.round(model.current().speedKmh));
      // Requests went out functionally addressed, as 8-byte frames.
      const req = wire.sent.find((f) => f.bus === 'tbox')!;
      expect(req.id).toBe(addressing === '11bit' ? 0x7df : 0x18db33f1);
      expect(req.data.length).toBe(8);
    });

    it('reads the VIN as a multi-frame answer with flow control, and DTCs from both ECUs', async () => {
      const { client, wire, engine, trans } = setup(addressing);
      await client.supportedPids();
      expect(await client.readVin()).toBe('WQD0SIM1234567890');
      // First frame from the ECU, flow control from the tester to the ECU's physical id.
      const fc = wire.sent.find((f) => f.bus === 'tbox' && f.data[0]! >> 4 === 3)!;
      expect(fc.id).toBe(addressing === '11bit' ? 0x7e0 : 0x18da10f1);
      const dtcs = await client.readDtcs('stored');
      expect(dtcs.map((d) => `${d.ecu}:${d.code}`).sort()).toEqual(
        [`${engine}:P0301`, `${engine}:P0420`, `${trans}:P0700`].sort(),
      );
      expect((await client.readDtcs('pending')).map((d) => d.code)).toEqual(['C0035']);
    });

    it('clears DTCs only when asked, and says NO_DATA for a PID nobody has', async () => {
      const { client, model } = setup(addressing);
      await client.supportedPids();
      expect(model.current().dtcs.length).toBe(2);
      await client.readAllDtcs();
      expect(model.current().dtcs.length).toBe(2);
      await client.clearDtcs();
      expect(model.current().dtcs).toEqual([]);
      const err = await client.readPid(0x13, { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ObdError);
      expect(err).toMatchObject({ code: 'NO_DATA' });
    });
  });
}
