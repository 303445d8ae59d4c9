/**
 * Consensus parameters. `mainnet` and `minimal` presets differ only where tests need speed
 * (schedule size, unbonding and mana regeneration periods); every rule reads them from the state.
 */

export interface ChainParams {
  /** Bound into every signed transaction and header, so nothing replays across chains. */
  readonly chainId: string;
  /** Hex address of the only account that may issue and redeem QDD. */
  readonly issuer: string;
  /** Producers in the schedule. */
  readonly scheduleSize: number;
  /** Length of a block slot. */
  readonly slotMs: number;
  /** Consecutive slots each scheduled producer gets in its turn. */
  readonly blocksPerTurn: number;
  /** Producers one account may vote for. */
  readonly maxVotes: number;
  /** Blocks between `unstake` and the stake becoming withdrawable. */
  readonly unbondingBlocks: number;
  /** Blocks for an empty mana bar to refill completely. */
  readonly manaRegenBlocks: number;
  /** Mana one transaction costs, in the same base units as QDT (the bar's size is the QDT held). */
  readonly manaPerTx: bigint;
  /** Fee in QDT base units a transaction must carry when its sender lacks the mana; burnt. */
  readonly minFee: bigint;
  /** Share of a double-signing producer's stake burnt, in basis points. */
  readonly doubleSignPenaltyBps: number;
  /** Most unbonding entries an account may have pending. */
  readonly maxUnbonding: number;
}

/** Base units per QDT or QDD (6 decimals). */
export const UNIT = 1_000_000n;

/** Blocks per day at 500 ms slots. */
const DAY_BLOCKS = 2 * 60 * 60 * 24;

/** Production values: 21 producers, 500 ms slots, 6 blocks a turn, 3-day unbonding, mana refilling over 5 days. */
export function mainnetParams(chainId: string, issuer: string): ChainParams {
  return {
    chainId,
    issuer,
    scheduleSize: 21,
    slotMs: 500,
    blocksPerTurn: 6,
    maxVotes: 30,
    unbondingBlocks: 3 * DAY_BLOCKS,
    manaRegenBlocks: 5 * DAY_BLOCKS,
    manaPerTx: UNIT,
    minFee: UNIT / 100n,
    doubleSignPenaltyBps: 1000,
    maxUnbonding: 8,
  };
}

/** Fast test values: 4 producers of 2 blocks a turn, unbonding in 10 blocks, mana refilling in 100. */
export function minimalParams(chainId: string, issuer: string): ChainParams {
  return {
    ...mainnetParams(chainId, issuer),
    scheduleSize: 4,
    blocksPerTurn: 2,
    unbondingBlocks: 10,
    manaRegenBlocks: 100,
  };
}
