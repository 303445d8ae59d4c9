/**
 * `pollForEveryWaiter` against a stand-in for bindings-cpp's JS poller, whose native handle keeps only
 * the event mask it was started with last: a wait for one event must not cancel a wait for another.
 * The pty contract test (test/system/serial) is the proof on a real port; this pins the rule.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { pollForEveryWaiter } from '../../../../firmware-bridge/serial/serialport.js';

const READABLE = 1;
const WRITABLE = 2;
const DISCONNECT = 4;

/** The poller's shape: `once` asks the handle for the event, then registers the listener. */
class StandInPoller extends EventEmitter {
  readonly started: number[] = [];
  readonly poller = { poll: (events: number) => this.started.push(events) };
  override once(event: string, listener: (...args: unknown[]) => void): this {
    this.poll(event === 'readable' ? READABLE : event === 'writable' ? WRITABLE : DISCONNECT);
    return super.once(event, listener);
  }
  poll(eventFlag = 0): void {
    this.poller.poll(eventFlag);
  }
}

describe('pollForEveryWaiter', () => {
  it('without it, a write that waits replaces the read that waits (the stall it fixes)', () => {
    const p = new StandInPoller();
    p.once('readable', () => {});
    p.once('writable', () => {});
    expect(p.started).toEqual([READABLE, WRITABLE]);
  });

  it('asks for every event something still waits for, and drops the ones that fired', () => {
    const p = new StandInPoller();
    expect(pollForEveryWaiter({ poller: p })).toBe(true);
    p.once('readable', () => {});
    p.once('writable', () => {});
    p.once('disconnect', () => {});
    expect(p.started).toEqual([READABLE, READABLE | WRITABLE, READABLE | WRITABLE | DISCONNECT]);
    p.emit('readable', null);
    p.poll(0);
    expect(p.started.at(-1)).toBe(WRITABLE | DISCONNECT);
    p.emit('writable', null);
    p.emit('disconnect', null);
    p.poll(0);
    expect(p.started.at(-1)).toBe(0);
  });

  it('leaves a binding without a unix poller alone', () => {
    expect(pollForEveryWaiter(undefined)).toBe(false);
    expect(pollForEveryWaiter({})).toBe(false);
    expect(pollForEveryWaiter({ poller: { poll: () => {} } })).toBe(false);
  });
});
