/**
 * The one error type of the data layer. Its message is a single line meant for the user as is:
 * which file, where it was looked for or what is wrong with it, and how to get it.
 */
export type DataErrorReason = 'missing' | 'corrupt';

export class DataError extends Error {
  override readonly name = 'DataError';
  /** Path of the missing or faulty file (for a missing file: where it was expected). */
  readonly file: string;
  readonly reason: DataErrorReason;

  constructor(message: string, file: string, reason: DataErrorReason, options?: { cause?: unknown }) {
    super(message.replace(/\s*\n\s*/g, ' '), options);
    this.file = file;
    this.reason = reason;
  }
}
