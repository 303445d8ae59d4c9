/**
 * `paidEndMs`, the pure rule of how far a listen grant's owner-signed extension terms let a payment
 * move its end: time bought at the price by what was paid beyond the entry payment, capped at the
 * latest end.
 */
import { describe, expect, it } from 'vitest';
import { extensionCost, paidEndMs } from '../../../../chain/index.js';

const HOUR = 3_600_000;
const grant = { toMs: 10 * HOUR, extension: { pricePerHour: 10n, latestEndMs: 13 * HOUR } };

describe('paidEndMs', () => {
  it('counts only what was paid beyond the entry payment', () => {
    expect(paidEndMs(grant, 10n)).toBe(11 * HOUR);
    expect(paidEndMs(grant, 10n, 10n)).toBe(10 * HOUR);
    expect(paidEndMs(grant, 5n, 10n)).toBe(10 * HOUR);
    expect(paidEndMs(grant, 30n, 10n)).toBe(12 * HOUR);
    expect(paidEndMs(grant, 1000n, 10n)).toBe(13 * HOUR);
  });

  it('a grant without terms, or a free one, ignores payments', () => {
    expect(paidEndMs({ toMs: HOUR }, 1000n)).toBe(HOUR);
    expect(paidEndMs({ toMs: HOUR, extension: { pricePerHour: 0n, latestEndMs: 2 * HOUR } }, 0n, 5n)).toBe(
      2 * HOUR,
    );
  });

  it('what an extension costs always buys at least that extension', () => {
    for (const added of [1, 999, HOUR / 3, HOUR + 7]) {
      const cost = extensionCost(grant.extension.pricePerHour, grant.toMs, grant.toMs + added);
      expect(paidEndMs(grant, cost + 4n, 4n)).toBeGreaterThanOrEqual(grant.toMs + added);
    }
  });
});
