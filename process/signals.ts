/** Keeps a long-running command alive until SIGINT or SIGTERM, then runs its stop function once. */
export function runUntilSignal(stop: () => Promise<void>, onError: (err: unknown) => void): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (): void => {
      if (stopping) return;
      stopping = true;
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      stop()
        .catch(onError)
        .finally(() => resolve());
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
