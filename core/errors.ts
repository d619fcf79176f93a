// One error type, so callers can tell gradc's complaints from bugs.

export class GradcError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GradcError";
  }
}

export function fail(message: string): never {
  throw new GradcError(message);
}
