/** Config sections for the agent's data sources: CAN buses, an OBD-II adapter and a GNSS receiver. */
import { z } from 'zod';
import { filePath, hostPort } from './common.js';

/** One SocketCAN interface with the DBC that describes its traffic and the map from DBC signals to VSS. */
export const canSourceSchema = z
  .object({
    /** Kernel interface name (`can0`, `vcan0`). */
    interface: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,15}$/, 'a network interface name such as can0 (at most 15 characters)'),
    /** Accept CAN FD frames (needs an FD-capable controller and `ip link set can0 type can fd on`). */
    fd: z.boolean().default(false),
    /** DBC file that describes this bus. */
    dbc: filePath,
    /** Mapping from DBC signals to VSS paths; without it signals are named `Dbc.<Message>.<Signal>`. */
    map: filePath.optional(),
  })
  .strict();

/** An ELM327-compatible adapter on a serial port, or OBD-II over ISO-TP on one of the CAN interfaces. */
export const obdSourceSchema = z
  .object({
    transport: z.enum(['elm327', 'isotp']).default('elm327'),
    /** Serial device of the ELM327 (`/dev/ttyUSB0`, `/dev/rfcomm0`); required for elm327. */
    port: z.string().min(1).optional(),
    baud: z
      .union([
        z.literal(9600),
        z.literal(38400),
        z.literal(57600),
        z.literal(115200),
        z.literal(230400),
        z.literal(500000),
      ])
      .default(38400),
    /** CAN interface for transport isotp. */
    interface: z.string().min(1).optional(),
    /** 11-bit (7DF/7E8) or 29-bit (18DB33F1) addressing for transport isotp. */
    addressing: z.enum(['11bit', '29bit']).default('11bit'),
    /** PIDs to poll as `01XX` with a rate in Hz; empty polls every supported PID at 1 Hz. */
    pids: z
      .record(
        z.string().regex(/^01[0-9A-Fa-f]{2}$/, 'a service 01 PID such as 010C'),
        z.number().positive().max(50),
      )
      .default({}),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.transport === 'elm327' && v.port === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['port'],
        message: 'a serial port such as /dev/ttyUSB0 when transport is elm327',
      });
    if (v.transport === 'isotp' && v.interface === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['interface'],
        message: 'a CAN interface such as can0 when transport is isotp',
      });
  });

/** A GNSS receiver: NMEA 0183 on a serial port, or a gpsd daemon. */
export const gnssSourceSchema = z
  .object({
    source: z.enum(['nmea', 'gpsd']),
    port: z.string().min(1).optional(),
    baud: z.number().int().positive().default(9600),
    gpsd: hostPort.default('localhost:2947'),
    /** Wall clock vs GNSS time difference, in ms, above which a skew is reported. */
    maxClockSkewMs: z.number().int().positive().default(2000),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.source === 'nmea' && v.port === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['port'],
        message: 'a serial port such as /dev/ttyACM0 when source is nmea',
      });
  });

export const sourcesSchema = z
  .object({
    can: z.array(canSourceSchema).default([]),
    obd: obdSourceSchema.optional(),
    gnss: gnssSourceSchema.optional(),
  })
  .strict();

export type CanSourceConfig = z.infer<typeof canSourceSchema>;
export type ObdSourceConfig = z.infer<typeof obdSourceSchema>;
export type GnssSourceConfig = z.infer<typeof gnssSourceSchema>;
export type SourcesConfig = z.infer<typeof sourcesSchema>;
