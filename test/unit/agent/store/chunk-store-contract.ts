/**
 * The `ChunkStore` contract: one suite, run against the memory double and the SQLite store
 * (chunk-store.test.ts), so the double cannot drift from the real thing.
 */
import { describe, expect, it } from 'vitest';
import type { ChunkStore } from '../../../../agent/store/index.js';
import { makeRecord } from '../../../support/chunks.js';

/** Makes a fresh, empty store with the given quota; the suite closes it. */
export type MakeStore = (options: { quotaBytes?: number }) => ChunkStore;

export function chunkStoreContract(name: string, make: MakeStore): void {
  describe(`ChunkStore contract: ${name}`, () => {
    const withStore = (options: { quotaBytes?: number }, body: (s: ChunkStore) => void) => {
      const s = make(options);
      try {
        body(s);
      } finally {
        s.close();
      }
    };

    it('stores a record and returns it byte for byte', () => {
      withStore({}, (s) => {
        const r = makeRecord('can0/ENGINE', 0, { size: 300 });
        expect(s.put(r)).toEqual({ stored: true, evicted: [] });
        const back = s.get(r.id);
        expect(back).toBeDefined();
        expect({ ...back!, bytes: [...back!.bytes] }).toEqual({ ...r, bytes: [...r.bytes] });
        expect(s.usage()).toMatchObject({ chunks: 1, bytes: 300 });
      });
    });

    it('is idempotent by id: a second put changes nothing and says duplicate', () => {
      withStore({}, (s) => {
        const r = makeRecord('a', 0);
        s.put(r);
        expect(s.put({ ...r, bytes: new Uint8Array(999) })).toEqual({ stored: false, reason: 'duplicate' });
        expect(s.usage().chunks).toBe(1);
        expect(s.get(r.id)?.bytes.length).toBe(64);
        expect(s.counters()).toMatchObject({ 'chunks.stored': 1, 'chunks.duplicate': 1, 'bytes.stored': 64 });
      });
    });

    it('does not keep a reference to the caller buffer', () => {
      withStore({}, (s) => {
        const r = makeRecord('a', 0);
        const copy = [...r.bytes];
        s.put(r);
        (r.bytes as Uint8Array).fill(0);
        expect([...s.get(r.id)!.bytes]).toEqual(copy);
      });
    });

    it('rejects a malformed record, naming the field', () => {
      withStore({}, (s) => {
        expect(() => s.put({ ...makeRecord('a', 0), id: 'xyz' })).toThrow(/id: found "xyz"; expected 64/);
        expect(() => s.put({ ...makeRecord('a', 0), seq: -1 })).toThrow(/seq/);
        expect(() => s.put({ ...makeRecord('a', 0), tEndMs: 0 })).toThrow(/tEndMs/);
        expect(s.usage().chunks).toBe(0);
      });
    });

    it('lists unsynced records in per-stream order whatever the insertion order, and pages', () => {
      withStore({}, (s) => {
        const puts = [
          ['b', 1],
          ['a', 2],
          ['b', 0],
          ['a', 0],
          ['c', 5],
          ['a', 1],
        ] as const;
        for (const [st, q] of puts) s.put(makeRecord(st, q));
        const all = s.unsynced(100).map((r) => `${r.stream}${r.seq}`);
        expect(all).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'c5']);
        expect(s.unsynced(2).map((r) => `${r.stream}${r.seq}`)).toEqual(['a0', 'a1']);
        expect(s.unsynced(3, { stream: 'a', seq: 1 }).map((r) => `${r.stream}${r.seq}`)).toEqual([
          'a2',
          'b0',
          'b1',
        ]);
        expect(s.unsynced(10, { stream: 'c', seq: 5 })).toEqual([]);
      });
    });

    it('deletes on ack, ignores unknown ids, and counts', () => {
      withStore({}, (s) => {
        const rs = [0, 1, 2].map((q) => makeRecord('a', q, { size: 100 }));
        for (const r of rs) s.put(r);
        expect(s.markAcked([rs[0]!.id, 'f'.repeat(64), rs[2]!.id, rs[2]!.id])).toEqual({
          chunks: 2,
          bytes: 200,
        });
        expect(s.unsynced(10).map((r) => r.seq)).toEqual([1]);
        expect(s.get(rs[0]!.id)).toBeUndefined();
        expect(s.usage()).toMatchObject({ chunks: 1, bytes: 100 });
        expect(s.counters()['chunks.acked']).toBe(2);
        expect(s.markAcked([])).toEqual({ chunks: 0, bytes: 0 });
        // An acked id may be stored again (a resend after the ack was lost is a new put upstream).
        expect(s.put(rs[0]!).stored).toBe(true);
      });
    });

    it('evicts the highest priority number first, then the oldest, to fit the quota', () => {
      withStore({ quotaBytes: 1000 }, (s) => {
        // 9 chunks of 100 bytes: priorities 0,1,2 in streams p0,p1,p2, three each.
        for (let q = 0; q < 3; q++)
          for (const p of [0, 1, 2]) s.put(makeRecord(`p${p}`, q, { size: 100, priority: p }));
        expect(s.usage().bytes).toBe(900);
        // 250 more bytes at priority 1: needs 150 freed -> the two oldest priority-2 chunks go.
        const r = s.put(makeRecord('p1', 3, { size: 250, priority: 1 }));
        expect(r.stored).toBe(true);
        const p2 = (q: number) => makeRecord('p2', q, { priority: 2 }).id;
        expect(r.stored && r.evicted).toEqual([p2(0), p2(1)]);
        expect(s.usage()).toMatchObject({ chunks: 8, bytes: 950 });
        // 200 bytes at priority 0: needs 150 -> last p2, then the oldest p1.
        const r2 = s.put(makeRecord('p0', 3, { size: 200, priority: 0 }));
        expect(r2.stored && r2.evicted).toEqual([p2(2), makeRecord('p1', 0, { priority: 1 }).id]);
        expect(s.counters()).toMatchObject({
          'chunks.evicted': 4,
          'bytes.evicted': 400,
          'chunks.stored': 11,
        });
        expect(s.usage().bytes).toBeLessThanOrEqual(1000);
      });
    });

    it('drops a newcomer rather than evict a more important chunk', () => {
      withStore({ quotaBytes: 500 }, (s) => {
        for (let q = 0; q < 5; q++) s.put(makeRecord('crash', q, { size: 100, priority: 0 }));
        const before = s.unsynced(10).map((r) => r.id);
        expect(s.put(makeRecord('gps', 0, { size: 10, priority: 3 }))).toEqual({
          stored: false,
          reason: 'quota',
        });
        // Equal priority: the oldest of that priority makes room (a ring buffer per priority).
        const r = s.put(makeRecord('crash', 5, { size: 100, priority: 0 }));
        expect(r.stored && r.evicted).toEqual([before[0]]);
        // Larger than the whole quota: dropped, nothing evicted.
        expect(s.put(makeRecord('big', 0, { size: 501, priority: 0 }))).toEqual({
          stored: false,
          reason: 'quota',
        });
        expect(s.counters()).toMatchObject({ 'chunks.dropped': 2, 'chunks.evicted': 1 });
        expect(s.usage()).toMatchObject({ chunks: 5, bytes: 500 });
      });
    });

    it('keeps named cursors', () => {
      withStore({}, (s) => {
        expect(s.cursor('anchor')).toBeUndefined();
        s.setCursor('anchor', '12');
        s.setCursor('anchor', '13');
        s.setCursor('height', 'x');
        expect([s.cursor('anchor'), s.cursor('height')]).toEqual(['13', 'x']);
      });
    });

    it('keeps descriptors idempotently until acked, oldest first', () => {
      withStore({}, (s) => {
        s.putDescriptor('d1', Uint8Array.of(1), 10);
        s.putDescriptor('d2', Uint8Array.of(2), 20);
        s.putDescriptor('d1', Uint8Array.of(9), 30);
        expect(s.pendingDescriptors(10).map((d) => [d.id, [...d.bytes], d.createdMs])).toEqual([
          ['d1', [1], 10],
          ['d2', [2], 20],
        ]);
        expect(s.markDescriptorsAcked(['d1', 'nope'])).toBe(1);
        expect(s.pendingDescriptors(10).map((d) => d.id)).toEqual(['d2']);
      });
    });

    it('queues outbox transactions in order and removes submitted ones', () => {
      withStore({}, (s) => {
        const a = s.enqueueTx('descriptor', Uint8Array.of(1), 1);
        const b = s.enqueueTx('revoke', Uint8Array.of(2), 2);
        const c = s.enqueueTx('descriptor', Uint8Array.of(3), 3);
        expect(a < b && b < c).toBe(true);
        expect(s.pendingTxs(2).map((e) => e.kind)).toEqual(['descriptor', 'revoke']);
        expect(s.removeTxs([b, 999])).toBe(1);
        expect(s.pendingTxs(10).map((e) => [e.seq, [...e.bytes]])).toEqual([
          [a, [1]],
          [c, [3]],
        ]);
      });
    });

    it('refuses use after close', () => {
      const s = make({});
      s.close();
      s.close();
      expect(() => s.put(makeRecord('a', 0))).toThrow(/closed/);
    });
  });
}
