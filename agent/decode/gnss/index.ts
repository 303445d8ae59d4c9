/** GNSS decoding on the agent side: fixes to VSS samples, and the clock check against GNSS time. */
export {
  ClockSkewCheck,
  type FixSampleOptions,
  fixToSamples,
  fixType,
  GNSS_PATHS,
  type SkewVerdict,
} from './fix-samples.js';
