/** Mapping DBC signals to data-dictionary paths: the map file format, unit conversion and the frame mapper. */
export { FrameMapper, type FrameMapperStats } from './frame-mapper.js';
export { type ResolvedMapping, resolveSignalMap, type SignalMapEntry, SignalMapError } from './signal-map.js';
export { type Conversion, conversion, normaliseUnit } from './units.js';
