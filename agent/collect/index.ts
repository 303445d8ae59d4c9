/** Collection: which decoded samples are kept, on which stream. */
export { Collector, type CollectSink, type StreamInfo } from './collector.js';
export { type Condition, ConditionError, parseCondition } from './condition.js';
