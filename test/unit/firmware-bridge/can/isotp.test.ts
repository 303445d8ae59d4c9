import { describe, expect, it } from 'vitest';
import {
  CanWire,
  IsoTpError,
  IsoTpLink,
  type IsoTpOptions,
  stMinToMs,
} from '../../../../firmware-bridge/index.js';

const payload = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

/** A tester (7E0 -> 7E8) and an ECU (7E8 -> 7E0) on one in-memory wire, recording every frame. */
function pair(tester: Partial<IsoTpOptions> = {}, ecu: Partial<IsoTpOptions> = {}) {
  const wire = new CanWire({ record: true });
  const a = new IsoTpLink({ bus: wire.attach('tester'), txId: 0x7e0, rxId: 0x7e8, ...tester });
  const b = new IsoTpLink({ bus: wire.attach('ecu'), txId: 0x7e8, rxId: 0x7e0, ...ecu });
  return { wire, a, b };
}

describe('ISO-TP over CAN', () => {
  for (const n of [1, 7, 8, 62, 63, 500, 4095]) {
    it(`carries ${n} bytes and back (classic CAN)`, async () => {
      const { a, b } = pair();
      const got = b.receive(2000);
      await a.send(payload(n));
      expect(await got).toEqual(payload(n));
      const back = a.receive(2000);
      await b.send(payload(n).reverse());
      expect(await back).toEqual(payload(n).reverse());
    });
  }

  it('frames a 20-byte message as FF, FC, then CFs with sequence numbers (ISO 15765-2 §9.6)', async () => {
    const { wire, a, b } = pair({ padding: 0xcc }, { padding: 0xcc, blockSize: 0 });
    const got = b.receive(2000);
    await a.send(payload(20));
    await got;
    const frames = wire.sent.map((f) => `${f.id.toString(16)}:${Buffer.from(f.data).toString('hex')}`);
    expect(frames).toEqual([
      `7e0:1014${Buffer.from(payload(20).subarray(0, 6)).toString('hex')}`,
      '7e8:300000cccccccccc',
      `7e0:21${Buffer.from(payload(20).subarray(6, 13)).toString('hex')}`,
      `7e0:22${Buffer.from(payload(20).subarray(13, 20)).toString('hex')}`,
    ]);
  });

  it('pads single frames to 8 bytes when asked, and not otherwise', async () => {
    const { wire, a, b } = pair({ padding: 0x55 });
    const got = b.receive(1000);
    await a.send(Uint8Array.of(0x01, 0x0c));
    expect(await got).toEqual(Uint8Array.of(0x01, 0x0c));
    expect(Buffer.from(wire.sent[0]!.data).toString('hex')).toBe('0201' + '0c' + '55'.repeat(5));
    const back = a.receive(1000);
    await b.send(Uint8Array.of(0x41, 0x0c, 0x1a, 0xf8));
    await back;
    expect(wire.sent[1]!.data.length).toBe(5);
  });

  it('honours the receiver block size with a flow control per block', async () => {
    const { wire, a, b } = pair({}, { blockSize: 4 });
    const got = b.receive(2000);
    await a.send(payload(100));
    expect(await got).toEqual(payload(100));
    // 100 bytes: FF (6) + 14 CFs; a FC after the FF and after every 4 CFs: 1 + 3 more.
    expect(wire.sent.filter((f) => f.id === 0x7e8 && f.data[0]! >> 4 === 3)).toHaveLength(4);
  });

  it('waits STmin between consecutive frames', async () => {
    const { a, b } = pair({}, { stMinMs: 5, blockSize: 0 });
    const got = b.receive(5000);
    const t0 = performance.now();
    await a.send(payload(6 + 7 * 10));
    await got;
    // Ten CFs with 5 ms between them: at least 45 ms.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(44);
  });

  it('carries 4095 bytes over CAN FD with 64-byte frames, and uses the FD single-frame escape', async () => {
    const { wire, a, b } = pair({ txDataLength: 64 }, { txDataLength: 64 });
    const got = b.receive(2000);
    await a.send(payload(4095));
    expect(await got).toEqual(payload(4095));
    expect(wire.sent.filter((f) => f.id === 0x7e0).every((f) => f.fd)).toBe(true);
    expect(wire.sent.filter((f) => f.id === 0x7e0)).toHaveLength(1 + Math.ceil((4095 - 62) / 63));
    const single = b.receive(1000);
    await a.send(payload(40));
    expect(await single).toEqual(payload(40));
    expect(wire.sent.at(-1)!.data.subarray(0, 2)).toEqual(Uint8Array.of(0x00, 40));
  });

  it('talks 29-bit normal-fixed addressing (18DA10F1 / 18DAF110)', async () => {
    const wire = new CanWire();
    const a = new IsoTpLink({ bus: wire.attach('t'), txId: 0x18da10f1, rxId: 0x18daf110 });
    const b = new IsoTpLink({ bus: wire.attach('e'), txId: 0x18daf110, rxId: 0x18da10f1 });
    const got = a.receive(1000);
    await b.send(payload(30));
    expect(await got).toEqual(payload(30));
  });

  it('fails a send with TIMEOUT_BS when no flow control comes (N_Bs)', async () => {
    const wire = new CanWire();
    const a = new IsoTpLink({ bus: wire.attach('t'), txId: 0x7e0, rxId: 0x7e8, timeoutBsMs: 50 });
    wire.attach('silent');
    await expect(a.send(payload(20))).rejects.toMatchObject({ code: 'TIMEOUT_BS' });
  });

  it('drops a reception with TIMEOUT_CR when the sender stops (N_Cr)', async () => {
    const wire = new CanWire();
    const b = new IsoTpLink({ bus: wire.attach('e'), txId: 0x7e8, rxId: 0x7e0, timeoutCrMs: 50 });
    const raw = wire.attach('t');
    const errors: IsoTpError[] = [];
    b.onError((e) => errors.push(e));
    await raw.send({ id: 0x7e0, data: Uint8Array.of(0x10, 20, 1, 2, 3, 4, 5, 6) });
    await new Promise((r) => setTimeout(r, 120));
    expect(errors.map((e) => e.code)).toEqual(['TIMEOUT_CR']);
    expect(errors[0]!.message).toContain('6 of 20 bytes');
  });

  it('reports a consecutive frame out of sequence and drops the message', async () => {
    const wire = new CanWire();
    const b = new IsoTpLink({ bus: wire.attach('e'), txId: 0x7e8, rxId: 0x7e0 });
    const raw = wire.attach('t');
    const errors: string[] = [];
    const messages: Uint8Array[] = [];
    b.onError((e) => errors.push(e.code));
    b.onMessage((m) => messages.push(m));
    await raw.send({ id: 0x7e0, data: Uint8Array.of(0x10, 20, 1, 2, 3, 4, 5, 6) });
    await raw.send({ id: 0x7e0, data: Uint8Array.of(0x22, 0, 0, 0, 0, 0, 0, 0) });
    expect(errors).toEqual(['WRONG_SN']);
    expect(messages).toEqual([]);
    b.close();
  });

  it('refuses a message above its limit with FC overflow, and the sender reports OVERFLOW', async () => {
    const { a, b } = pair({}, { maxReceiveLength: 100 });
    const errors: string[] = [];
    b.onError((e) => errors.push(e.code));
    await expect(a.send(payload(200))).rejects.toMatchObject({ code: 'OVERFLOW' });
    expect(errors).toEqual(['OVERFLOW']);
  });

  it('ignores frames that are not ISO-TP for it, and rejects a second send while one runs', async () => {
    const { wire, a, b } = pair({}, { stMinMs: 2 });
    const stray = wire.attach('other');
    await stray.send({ id: 0x123, data: Uint8Array.of(0x10, 0x10) });
    const first = a.send(payload(100));
    await expect(a.send(payload(3))).rejects.toBeInstanceOf(IsoTpError);
    await first;
    b.close();
    a.close();
  });

  it('reads STmin as ms or as 100..900 microseconds', () => {
    expect(stMinToMs(0x14)).toBe(20);
    expect(stMinToMs(0xf3)).toBeCloseTo(0.3, 9);
    expect(stMinToMs(0x80)).toBe(127);
  });
});
