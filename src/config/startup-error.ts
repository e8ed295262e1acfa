/**
 * A reason the app cannot start that the operator can fix, with a message that says what to do.
 * `npm start` prints only the message (no stack): it is meant to be read, not debugged.
 */
export class StartupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StartupError';
  }
}
