/**
 * The undo steps of the agent's start, run in the reverse of the order they were added: what
 * started last stops first, so a stage never outlives what it depends on. A start that fails half
 * way runs the steps added so far before it reports the error.
 */

/** One undo step: closes or stops one thing. */
export type UndoStep = () => Promise<void> | void;

/** A stack of undo steps. */
export class Teardown {
  readonly #steps: UndoStep[] = [];

  /** Adds steps; of steps added in one call, the last runs first too. */
  add(...steps: UndoStep[]): void {
    this.#steps.push(...steps);
  }

  /** Runs every step added so far, newest first, each awaited; the stack is empty afterwards. */
  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) await step();
  }
}
