// User-facing errors: a short message that says what is wrong and how to fix it.
// The CLI prints message (and hint) without a stack trace and exits with `exitCode`.
// The hint matches the cause: a profile's problem points at its field and the schema, a
// machine's missing capability at `tunbench doctor`, a flag at `--help`.

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

/** Hint for a problem in a profile (a field's value, its type, a combination of fields). */
export const PROFILE_HINT = 'correct the field(s) named above; profiles/profile.schema.json describes every field';
/** Hint for something this machine lacks. */
export const DOCTOR_HINT = 'run tunbench doctor for the full capability record of this machine';

export function formatUserError(e: UserError): string {
  return `tunbench: ${e.message}${e.hint ? `\n  fix: ${e.hint}` : ''}`;
}

const FS_ERRORS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENAMETOOLONG: 'the file name is too long',
  EMFILE: 'too many open files',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder, not a file',
};

/**
 * A file system error the user can act on (no space, read-only, permission), raised anywhere
 * mid-run, as a UserError naming the path; null for anything else (a bug: shown as internal).
 */
export function userErrorFromErrno(e: unknown): UserError | null {
  const err = e as NodeJS.ErrnoException | null;
  if (!err || typeof err !== 'object' || typeof err.code !== 'string') return null;
  const what = FS_ERRORS[err.code];
  if (!what) return null;
  const path = err.path ?? (err as { dest?: string }).dest;
  return new UserError(`cannot ${err.syscall ?? 'write'} ${path ?? 'a file'}: ${what} (${err.code})`, {
    hint: 'free space or fix the permissions there, or choose another folder with --out; trials already measured are in result.json',
  });
}
