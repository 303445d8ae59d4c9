/**
 * Shared pieces of the fuzz suite (test/fuzz) and of the hostile-input regression tests: the seed
 * and the budget, and inputs built to exhaust a parser.
 */

/** Nine levels of nine aliases each: 9^9 (387 million) strings once expanded ("billion laughs"). */
export const ALIAS_BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
  '',
].join('\n');
