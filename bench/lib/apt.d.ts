/** Whether a command is on PATH (or an executable in /usr/sbin, where Debian puts daemons such as nginx). */
export declare function hasCommand(command: string): boolean;
/**
 * Installs the Debian package of each missing command (`{ wrk: 'wrk', nginx: 'nginx-light' }`); one apt-get update
 * first. Progress goes to stderr so that a caller's stdout stays its own.
 */
export declare function ensureCommands(packageOf: Record<string, string>): void;
