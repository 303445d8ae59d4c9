/**
 * SocketCAN error frames decoded into the events the agent counts. The bytes are what a real
 * controller driver (mcp251x on a Pi CAN HAT, a TBOX's flexcan) puts in an error frame, per
 * linux/can/error.h; vcan never produces error frames, so these cases are unit vectors.
 */
import { describe, expect, it } from 'vitest';
import { decodeErrorFrame } from '../../../../firmware-bridge/index.js';

const bytes = (...b: number[]) => Uint8Array.from([...b, ...new Array(8 - b.length).fill(0)]);

describe('decodeErrorFrame', () => {
  it('names bus-off (CAN_ERR_BUSOFF)', () => {
    expect(decodeErrorFrame(0x040, bytes())).toEqual(['bus-off']);
  });

  it('names error-passive from the controller status byte, RX or TX', () => {
    expect(decodeErrorFrame(0x004, bytes(0, 0x10))).toEqual(['error-passive']);
    expect(decodeErrorFrame(0x004, bytes(0, 0x20))).toEqual(['error-passive']);
  });

  it('names error-warning only when not already passive', () => {
    expect(decodeErrorFrame(0x004, bytes(0, 0x04))).toEqual(['error-warning']);
    expect(decodeErrorFrame(0x004, bytes(0, 0x30 | 0x0c))).toEqual(['error-passive']);
  });

  it('names the return to error-active and a controller problem without a status bit', () => {
    expect(decodeErrorFrame(0x004, bytes(0, 0x40))).toEqual(['error-active']);
    expect(decodeErrorFrame(0x004, bytes(0, 0x01))).toEqual(['controller-problem']);
  });

  it('names a controller restart after bus-off (CAN_ERR_RESTARTED)', () => {
    expect(decodeErrorFrame(0x100, bytes())).toEqual(['restarted']);
  });

  it('reports every class bit that is set, in a stable order', () => {
    expect(decodeErrorFrame(0x040 | 0x020 | 0x080 | 0x008, bytes())).toEqual([
      'bus-off',
      'protocol-violation',
      'no-ack',
      'bus-error',
    ]);
    expect(decodeErrorFrame(0x001 | 0x002 | 0x010, bytes())).toEqual([
      'tx-timeout',
      'lost-arbitration',
      'transceiver',
    ]);
  });

  it('reports nothing for a frame without class bits and survives short data', () => {
    expect(decodeErrorFrame(0, bytes())).toEqual([]);
    expect(decodeErrorFrame(0x004, new Uint8Array(0))).toEqual(['controller-problem']);
  });
});
