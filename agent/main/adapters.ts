/**
 * The one place that picks the concrete adapters the agent runs on: SocketCAN for CAN buses,
 * serialport for an ELM327 and an NMEA receiver, gpsd over TCP, and MQTT for the broker. A caller
 * (the demo, tests) passes its own through `AgentOptions`; whatever it leaves out comes from here.
 *
 * Each is loaded at its first use: `openSocketCan` loads the socketcan addon when it first opens a
 * bus, so a dongle without CAN never loads it, and the mqtt package is imported only when `sync` is
 * configured. SocketCAN is Linux's; elsewhere this build has no CAN driver, which the stage that
 * needs a bus reports (AgentError NO_CAN_DRIVER).
 */
import {
  type CanBus,
  connectTcp,
  type GnssSource,
  type OpenSerial,
  openGpsdClient,
  openNmeaSerial,
  openSerialPort,
  openSocketCan,
} from '../../firmware-bridge/index.js';
import type { AgentConfig, CanSourceConfig, GnssSourceConfig, SyncConfig } from '../config/index.js';
import type { Uplink } from '../sync/uplink.js';

/** Opens a configured CAN interface. */
export type OpenCanBus = (source: Pick<CanSourceConfig, 'interface' | 'fd'>) => Promise<CanBus>;
/** Opens the configured GNSS receiver. */
export type OpenGnss = (source: GnssSourceConfig) => Promise<GnssSource>;
/** Opens the link to the configured broker; it connects in the background. */
export type OpenUplink = (sync: SyncConfig) => Uplink;

/** The adapters a caller may give instead of the device's own (the demo's memory bus, a test's broker). */
export interface AdapterChoice {
  readonly openCanBus?: OpenCanBus;
  readonly openSerial?: OpenSerial;
  readonly openGnss?: OpenGnss;
  readonly openUplink?: OpenUplink;
}

/** The adapters one agent runs on. */
export interface Adapters {
  /** Undefined where this build has no CAN driver. */
  readonly openCanBus: OpenCanBus | undefined;
  readonly openSerial: OpenSerial;
  readonly openGnss: OpenGnss;
  readonly openUplink: (sync: SyncConfig) => Promise<Uplink>;
}

/** The caller's adapters where it chose them, the device's own elsewhere. */
export function pickAdapters(
  config: AgentConfig,
  chosen: AdapterChoice,
  platform: NodeJS.Platform = process.platform,
): Adapters {
  const openSerial = chosen.openSerial ?? openSerialPort;
  const openUplink = chosen.openUplink;
  return {
    openCanBus: chosen.openCanBus ?? (platform === 'linux' ? openSocketCanBus : undefined),
    openSerial,
    openGnss: chosen.openGnss ?? ((source) => openDeviceGnss(source, openSerial)),
    openUplink:
      openUplink === undefined
        ? (sync) => openMqtt(sync, config.device.vehicleId)
        : async (sync) => openUplink(sync),
  };
}

function openSocketCanBus(source: Pick<CanSourceConfig, 'interface'>): Promise<CanBus> {
  return openSocketCan({ interface: source.interface });
}

/**
 * The configured receiver: its serial port for `nmea`, TCP for `gpsd`. A receiver that is not there
 * yet does not stop the agent: the source keeps trying and says so in the log.
 */
function openDeviceGnss(cfg: GnssSourceConfig, openSerial: OpenSerial): Promise<GnssSource> {
  if (cfg.source === 'nmea')
    return openNmeaSerial({ path: cfg.port!, baudRate: cfg.baud, openSerial, retryFirstOpen: true });
  const i = cfg.gpsd.lastIndexOf(':');
  return openGpsdClient({
    // `[::1]:2947` names an IPv6 host in brackets; the socket wants it without.
    host: cfg.gpsd.slice(0, i).replace(/^\[(.*)\]$/, '$1'),
    port: Number(cfg.gpsd.slice(i + 1)),
    connect: (t) => connectTcp(t),
    retryFirstOpen: true,
  });
}

/** MQTT to the TSP's broker with the vehicle id as client id; the package is loaded here, once. */
async function openMqtt(cfg: SyncConfig, vehicleId: string): Promise<Uplink> {
  const { openMqttUplink } = await import('../sync/mqtt-uplink.js');
  return openMqttUplink({
    url: cfg.broker,
    clientId: vehicleId,
    protocolVersion: cfg.protocolVersion,
    sessionExpirySec: cfg.sessionExpirySec,
    ...(cfg.username === undefined ? {} : { username: cfg.username }),
    ...(cfg.password === undefined ? {} : { password: cfg.password }),
    ...(cfg.tls === undefined ? {} : { tls: cfg.tls }),
  });
}
