/**
 * Runs the `openssl` binary (Debian `openssl`). Certificates, CRLs and keys are made by it rather than
 * by ASN.1 written here: it is the same library mosquitto verifies them with, and `openssl ca` keeps
 * the issued-certificate database a CRL is generated from.
 */
import { execFile } from 'node:child_process';
import { FleetError } from './fleet-error.js';

/** Runs openssl with `args` and resolves with its stdout; rejects with a `FleetError` (`openssl`). */
export type OpensslRunner = (args: readonly string[]) => Promise<string>;

/** A runner of the `openssl` found on PATH (or `bin`). */
export function opensslRunner(bin = 'openssl'): OpensslRunner {
  return (args) =>
    new Promise((resolve, reject) => {
      execFile(bin, [...args], { encoding: 'utf8', maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err === null) {
          resolve(stdout);
          return;
        }
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        reject(
          new FleetError({
            code: 'openssl',
            message: missing
              ? `${bin} is not installed (apt-get install openssl)`
              : `openssl ${args[0] ?? ''} failed: ${stderr.trim() || err.message}`,
            cause: err,
          }),
        );
      });
    });
}
