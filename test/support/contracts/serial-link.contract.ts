/**
 * What every `SerialLink` (firmware-bridge/serial/serial-link.ts) promises, as contract checks, and
 * `serialLinkContract` to run them under vitest against a linked pair: the memory pair and
 * `openSerialPort` on two pseudo-terminals joined by socat. Bytes both ways in order whatever the
 * chunking, every byte value and latin1 strings, large writes, unsubscribing, close() idempotent
 * and final, bytes written before close() still delivered, what an end sees when its device goes
 * away (one close with `disconnected`, then writes refused), and the typed error for a path that
 * does not exist.
 */
import assert from 'node:assert/strict';
import { SerialError, type SerialLink } from '../../../firmware-bridge/index.js';
import { type ContractCheck, type ContractSubject, pause, until } from './contract.js';
import { type ContractRunOptions, describeContract } from './describe-contract.js';

/** Two linked ends, made fresh for each check: what `a` writes, `b` reads, and back. */
export interface SerialPair extends ContractSubject {
  readonly a: SerialLink;
  readonly b: SerialLink;
  /**
   * Makes `b`'s device go away as an unplugged adapter would: the memory pair closes `a` (a pty
   * master sees its slave close); the pty pair ends socat, which holds both masters.
   */
  unplug(): Promise<void>;
  /** Opens a path that does not exist, where the implementation opens paths at all. */
  readonly openMissing?: () => Promise<SerialLink>;
  /** How long bytes may take to cross, ms (default 5000). */
  readonly settleMs?: number;
}

/** Collects what `link` receives, joined. */
function reader(link: SerialLink): { bytes: () => Buffer; chunks: number } {
  const chunks: Uint8Array[] = [];
  link.onData((c) => chunks.push(Uint8Array.from(c)));
  return {
    bytes: () => Buffer.concat(chunks),
    get chunks() {
      return chunks.length;
    },
  };
}

/** Waits until `r` holds `n` bytes. */
async function received(
  pair: SerialPair,
  r: { bytes: () => Buffer },
  n: number,
  what: string,
): Promise<void> {
  await until(() => r.bytes().length >= n, `${n} bytes ${what}`, pair.settleMs ?? 5000);
}

/** Records the close reports of `link`. */
function closes(link: SerialLink): { disconnected: boolean; error?: Error }[] {
  const seen: { disconnected: boolean; error?: Error }[] = [];
  link.onClose((info) => seen.push(info));
  return seen;
}

/** Resolves to the SerialError `p` rejects with; fails when it resolves or rejects with anything else. */
async function serialError(p: Promise<unknown>): Promise<SerialError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SerialError, `expected a SerialError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection with SerialError, but it resolved');
}

const pattern = (n: number, seed: number) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (seed + i * 13) & 0xff));

/** The checks, in the order they run. */
export const serialLinkChecks: readonly ContractCheck<SerialPair>[] = [
  {
    name: 'carries bytes both ways in the order written, every byte value, strings as latin1',
    async run(pair) {
      const atB = reader(pair.b);
      const atA = reader(pair.a);
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await pair.a.write('ATZ\r');
      await pair.a.write(all);
      await pair.a.write('\u00e9\u00ff>'); // latin1: one byte each
      const sent = Buffer.concat([Buffer.from('ATZ\r'), all, Buffer.from([0xe9, 0xff, 0x3e])]);
      await received(pair, atB, sent.length, 'at b');
      assert.equal(atB.bytes().toString('hex'), sent.toString('hex'));
      await pair.b.write('ELM327 v1.5\r\r>');
      await received(pair, atA, 14, 'at a');
      assert.equal(atA.bytes().toString('latin1'), 'ELM327 v1.5\r\r>');
      assert.equal(pair.a.isOpen, true);
      assert.equal(pair.b.isOpen, true);
    },
  },
  {
    name: 'carries large writes whole and in order, both ways at once',
    async run(pair) {
      const atB = reader(pair.b);
      const atA = reader(pair.a);
      const big = pattern(256 * 1024, 1);
      const back = pattern(64 * 1024, 7);
      // Many writes back to back as well as one large one: order holds across writes.
      const small = Array.from({ length: 200 }, (_, i) => pattern(97, i));
      await Promise.all([
        (async () => {
          await pair.a.write(big);
          for (const s of small) await pair.a.write(s);
        })(),
        pair.b.write(back),
      ]);
      const toB = Buffer.concat([big, ...small]);
      await received(pair, atB, toB.length, 'at b');
      await received(pair, atA, back.length, 'at a');
      await pause(50);
      assert.ok(atB.bytes().equals(toB), 'a -> b arrived whole and in order');
      assert.ok(atA.bytes().equals(back), 'b -> a arrived whole and in order');
    },
  },
  {
    name: 'stops calling a data listener once it has unsubscribed, and keeps calling the others',
    async run(pair) {
      const first: number[] = [];
      const off = pair.b.onData((c) => first.push(...c));
      const other = reader(pair.b);
      await pair.a.write('1');
      await received(pair, other, 1, 'at b');
      off();
      await pair.a.write('2');
      await received(pair, other, 2, 'at b');
      await pause(50);
      assert.deepEqual(first, [0x31]);
      assert.equal(other.bytes().toString(), '12');
    },
  },
  {
    name: 'close() is idempotent: one close report (not disconnected), isOpen false, writes rejected with SerialError CLOSED',
    async run(pair) {
      const seen = closes(pair.a);
      await pair.a.close();
      await pair.a.close();
      await Promise.all([pair.a.close(), pair.a.close()]);
      assert.deepEqual(
        seen.map((s) => s.disconnected),
        [false],
      );
      assert.equal(pair.a.isOpen, false);
      const err = await serialError(pair.a.write('AT\r'));
      assert.equal(err.code, 'CLOSED', err.message);
      assert.equal(err.path, pair.a.path);
    },
  },
  {
    name: 'delivers what was written before close() to the other end',
    async run(pair) {
      const atB = reader(pair.b);
      const last = pattern(300, 3);
      await pair.a.write(last);
      await pair.a.close();
      await received(pair, atB, last.length, 'written before the close');
      assert.ok(atB.bytes().equals(last), 'the bytes written before the close arrived whole');
    },
  },
  {
    name: 'when the device goes away, reports one disconnect after the last bytes; then isOpen is false and writes are refused',
    async run(pair) {
      const atB = reader(pair.b);
      const seen = closes(pair.b);
      await pair.a.write('41 0C 1A F8\r>');
      await received(pair, atB, 13, 'before the device went away');
      await pair.unplug();
      await until(() => seen.length > 0, 'the close report', pair.settleMs ?? 5000);
      await pause(100);
      assert.deepEqual(
        seen.map((s) => s.disconnected),
        [true],
      );
      assert.equal(pair.b.isOpen, false);
      const err = await serialError(pair.b.write('AT\r'));
      assert.ok(['CLOSED', 'WRITE_FAILED'].includes(err.code), err.message);
      await pair.b.close(); // closing an end whose device went away is fine and reports nothing more
      assert.equal(seen.length, 1);
      assert.equal(atB.bytes().toString('latin1'), '41 0C 1A F8\r>');
    },
  },
  {
    name: 'rejects opening a path that does not exist with SerialError OPEN_FAILED naming the path',
    skip: (pair) => (pair.openMissing ? undefined : 'the implementation opens no paths'),
    async run(pair) {
      const err = await serialError(pair.openMissing!());
      assert.equal(err.code, 'OPEN_FAILED', err.message);
      assert.ok(err.message.includes(err.path), err.message);
    },
  },
];

/** Runs every `SerialLink` check against pairs from `makePair`, a fresh pair per check. */
export function serialLinkContract(
  name: string,
  makePair: () => Promise<SerialPair>,
  options?: ContractRunOptions,
): void {
  describeContract(`SerialLink contract: ${name}`, serialLinkChecks, makePair, options);
}
