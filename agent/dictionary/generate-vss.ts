/**
 * Generates `vss.json`, the agent's data dictionary, from COVESA VSS release JSON trees: every leaf
 * of VSS 6.0 plus the `Vehicle.OBD` branch of VSS 4.0 (6.0 dropped it; OBD-II adapters still need
 * it). Run: `node dist/agent/dictionary/generate-vss.js ../shared/data/vss agent/dictionary/vss.json`.
 * The output is a derived copy of VSS (MPL-2.0); its header keeps the attribution.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface VssNode {
  type: string;
  datatype?: string;
  unit?: string;
  min?: number;
  max?: number;
  allowed?: (string | number)[];
  children?: Record<string, VssNode>;
}

/** A leaf as stored: [path, type, datatype, unit, min, max, allowed]. */
export type DictionaryRow = [
  string,
  string,
  string,
  string,
  number | null,
  number | null,
  (string | number)[] | null,
];

function leaves(node: VssNode, path: string, out: DictionaryRow[]): void {
  if (node.children) {
    for (const [name, child] of Object.entries(node.children)) leaves(child, `${path}.${name}`, out);
    return;
  }
  if (node.type === 'branch') return;
  out.push([
    path,
    node.type,
    node.datatype ?? '',
    node.unit ?? '',
    node.min ?? null,
    node.max ?? null,
    node.allowed ?? null,
  ]);
}

function main(): void {
  const [src, dest] = process.argv.slice(2);
  if (!src || !dest) {
    process.stderr.write('usage: generate-vss.js <vss folder> <output json>\n');
    process.exit(2);
  }
  const v6 = JSON.parse(readFileSync(join(src, 'vss_release_6.0.json'), 'utf8')) as { Vehicle: VssNode };
  const v4 = JSON.parse(readFileSync(join(src, 'vss_release_4.0.json'), 'utf8')) as { Vehicle: VssNode };
  const rows: DictionaryRow[] = [];
  leaves(v6.Vehicle, 'Vehicle', rows);
  const obd = v4.Vehicle.children?.OBD;
  if (obd) leaves(obd, 'Vehicle.OBD', rows);
  rows.sort((a, b) => a[0].localeCompare(b[0]));
  const out = {
    id: 'qood-vss-6.0+obd-4.0',
    attribution:
      'Derived from the COVESA Vehicle Signal Specification 6.0 and 4.0 (Vehicle.OBD), MPL-2.0, as published in eclipse-kuksa/kuksa-databroker data/vss-core.',
    columns: ['path', 'type', 'datatype', 'unit', 'min', 'max', 'allowed'],
    rows,
  };
  writeFileSync(dest, `${JSON.stringify(out)}\n`);
  process.stdout.write(`${rows.length} signals written to ${dest}\n`);
}

if (process.argv[1]?.endsWith('generate-vss.js')) main();
