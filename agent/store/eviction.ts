/**
 * The eviction rule both stores implement, as one pure function over candidates so the rule is
 * written once: to fit `needBytes`, take chunks of priority number >= the newcomer's, highest
 * number first, oldest stored first among equals, until enough is freed. If those are not enough,
 * evict nothing: the newcomer is the one to drop, since everything else is more important.
 */

/** A stored chunk as eviction sees it. */
export interface EvictionCandidate {
  readonly id: string;
  readonly priority: number;
  /** Storage order: smaller is older. */
  readonly order: number;
  readonly size: number;
}

/** Orders candidates in eviction order (first to go first). */
export function compareEviction(a: EvictionCandidate, b: EvictionCandidate): number {
  return b.priority - a.priority || a.order - b.order;
}

/**
 * The chunks to evict so that `needBytes` more fit, or undefined when the newcomer must be dropped.
 * `candidates` must already be in eviction order and may be any iterable (a SQL cursor).
 */
export function planEviction(
  candidates: Iterable<EvictionCandidate>,
  newcomerPriority: number,
  needBytes: number,
): EvictionCandidate[] | undefined {
  if (needBytes <= 0) return [];
  const out: EvictionCandidate[] = [];
  let freed = 0;
  for (const c of candidates) {
    if (c.priority < newcomerPriority) break;
    out.push(c);
    freed += c.size;
    if (freed >= needBytes) return out;
  }
  return undefined;
}
