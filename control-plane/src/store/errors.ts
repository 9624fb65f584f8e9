// Errors a Store reports: a transaction whose expected revision is no longer current.

/** The store moved past `expected` before the transaction committed; re-read, re-validate, retry. */
export class StoreConflictError extends Error {
  readonly expected: number;
  readonly actual: number;

  constructor(expected: number, actual: number) {
    super(`store revision changed (expected ${expected}, now ${actual})`);
    this.name = 'StoreConflictError';
    this.expected = expected;
    this.actual = actual;
  }
}
