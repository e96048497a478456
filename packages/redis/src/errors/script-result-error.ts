/** A script answered something its declared result does not allow. */
export class ScriptResultError extends Error {
  constructor(expected: string, raw: unknown) {
    super(`a script answered ${JSON.stringify(raw)} where ${expected} was expected`);
    this.name = 'ScriptResultError';
  }
}
