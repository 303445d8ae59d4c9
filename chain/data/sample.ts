/**
 * A decoded signal value: the unit of data that flows from decode through collect and chunk.
 * `path` is a data-dictionary (COVESA VSS) path; its unit and type come from the dictionary,
 * not from each sample.
 */
export type SampleValue = number | string | boolean;

export interface Sample {
  /** VSS path such as `Vehicle.Speed`, or `Dbc.<Message>.<Signal>` for an unmapped DBC signal. */
  readonly path: string;
  /** Wall time of the observation in microseconds since the Unix epoch. */
  readonly tUs: number;
  readonly value: SampleValue;
}
