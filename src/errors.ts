// User-facing errors: a short message that says what is wrong and how to fix it.
// The CLI prints message (and hint) without a stack trace and exits with `exitCode`.

export class UserError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;
  constructor(message: string, opts: { hint?: string; exitCode?: number } = {}) {
    super(message);
    this.name = 'UserError';
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 2;
  }
}

export function formatUserError(e: UserError): string {
  return `tunbench: ${e.message}${e.hint ? `\n  fix: ${e.hint}` : ''}`;
}
