/**
 * Order notices reach vehicles the node knows from the chain (issue 16): with no static
 * `ingest.deviceKeys`, an open buy order for a descriptor of a vehicle whose device is bound on
 * chain, and whose descriptor the ingest database holds, is announced on that vehicle's
 * `down/order`; the config id comes from the ingest's device registry (learnt from the database at
 * start). Without the registry the same order is not the node's to announce.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OrderNotices } from '../../../../node/device-link/index.js';
import { DeviceRegistry } from '../../../../node/ingest/index.js';
import { silentLogger } from '../../../../process/log.js';
import { buildMarketSale, ingestStoreWith, MARKET_VEHICLE } from '../../../support/market.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-notices-chain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('order notices for chain-bound vehicles', () => {
  it('announces to a vehicle known from the chain and the ingest database, not only the static map', () => {
    const { chain, sold, ids } = buildMarketSale({ chunksPerStream: 1, samplesPerChunk: 4 });
    const store = ingestStoreWith(join(dir, 'ingest.db'), [sold], Date.now());
    try {
      const registry = new DeviceRegistry({ finalState: () => chain.state });
      for (const v of store.descriptorVehicles()) registry.learn(v);
      const topics: string[] = [];
      const notices = (vehicleOf?: (id: string) => string | undefined) =>
        new OrderNotices({
          link: { publish: async (topic) => void topics.push(topic) },
          store,
          vehicleIds: [],
          ...(vehicleOf === undefined ? {} : { vehicleOf }),
          topicPrefix: 'qood/v1',
          logger: silentLogger,
        });
      expect(notices().announce(ids.open, chain.state)).toBe('not-ours');
      expect(topics).toEqual([]);
      expect(notices((id) => registry.vehicleIdOf(id)).announce(ids.open, chain.state)).toBeUndefined();
      expect(topics).toEqual([`qood/v1/${MARKET_VEHICLE}/down/order`]);
    } finally {
      store.close();
    }
  });
});
