/**
 * Routes for the vehicle model: a polyline of waypoints with a speed limit per leg, and the
 * geometry to move along it (great-circle distance and bearing on a spherical Earth, which is
 * within 0.5 % of WGS-84 over a town-sized route — plenty for a simulator).
 */

/** One waypoint; `limitKmh` applies to the leg that starts here. */
export interface Waypoint {
  readonly latDeg: number;
  readonly lonDeg: number;
  readonly altM: number;
  readonly limitKmh: number;
  /** Stop here for this many seconds (a traffic light, a junction) before the next leg. */
  readonly stopS?: number;
}

export interface Route {
  readonly name: string;
  /** Closed loop: after the last waypoint the car drives back to the first. */
  readonly waypoints: readonly Waypoint[];
}

const EARTH_RADIUS_M = 6_371_008.8;
const rad = (d: number) => (d * Math.PI) / 180;
const deg = (r: number) => (r * 180) / Math.PI;

/** Great-circle distance in metres (haversine). */
export function distanceM(
  a: { latDeg: number; lonDeg: number },
  b: { latDeg: number; lonDeg: number },
): number {
  const dLat = rad(b.latDeg - a.latDeg);
  const dLon = rad(b.lonDeg - a.lonDeg);
  const h =
    Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.latDeg)) * Math.cos(rad(b.latDeg)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Initial bearing from a to b in degrees, 0 = north, clockwise, in [0, 360). */
export function bearingDeg(
  a: { latDeg: number; lonDeg: number },
  b: { latDeg: number; lonDeg: number },
): number {
  const y = Math.sin(rad(b.lonDeg - a.lonDeg)) * Math.cos(rad(b.latDeg));
  const x =
    Math.cos(rad(a.latDeg)) * Math.sin(rad(b.latDeg)) -
    Math.sin(rad(a.latDeg)) * Math.cos(rad(b.latDeg)) * Math.cos(rad(b.lonDeg - a.lonDeg));
  return (deg(Math.atan2(y, x)) + 360) % 360;
}

/** The point a fraction `f` (0..1) of the way from a to b (linear; legs are short). */
export function interpolate(
  a: Waypoint,
  b: Waypoint,
  f: number,
): { latDeg: number; lonDeg: number; altM: number } {
  return {
    latDeg: a.latDeg + (b.latDeg - a.latDeg) * f,
    lonDeg: a.lonDeg + (b.lonDeg - a.lonDeg) * f,
    altM: a.altM + (b.altM - a.altM) * f,
  };
}

/**
 * A loop through Zurich: city streets at 50, a stretch of 80 on the lake road and a motorway leg
 * at 120, with stops at junctions — enough to exercise every gear, braking and idling.
 */
export const ZURICH_LOOP: Route = {
  name: 'zurich-loop',
  waypoints: [
    { latDeg: 47.3769, lonDeg: 8.5417, altM: 408, limitKmh: 50 },
    { latDeg: 47.3717, lonDeg: 8.5423, altM: 409, limitKmh: 50, stopS: 8 },
    { latDeg: 47.3664, lonDeg: 8.5452, altM: 407, limitKmh: 80 },
    { latDeg: 47.3501, lonDeg: 8.5552, altM: 410, limitKmh: 80, stopS: 5 },
    { latDeg: 47.3443, lonDeg: 8.5302, altM: 428, limitKmh: 120 },
    { latDeg: 47.3712, lonDeg: 8.4853, altM: 402, limitKmh: 120 },
    { latDeg: 47.3866, lonDeg: 8.5008, altM: 405, limitKmh: 50, stopS: 10 },
    { latDeg: 47.3839, lonDeg: 8.5302, altM: 410, limitKmh: 50 },
  ],
};
