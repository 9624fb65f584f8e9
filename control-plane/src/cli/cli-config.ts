// trellisctl's config file, as kubectl's kubeconfig: named contexts (an API address and a token, inline or in a file)
// and the current one; flags and TRELLIS_API / TRELLIS_TOKEN override what the context says.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMap, isSeq, parseDocument } from 'yaml';
import { CliError } from './io.ts';

export interface CliContext {
  name: string;
  /** host:port of the control plane's operator API. */
  api?: string;
  /** A bearer token, or the file holding one (read at use, trimmed). */
  token?: string;
  tokenFile?: string;
}

export interface CliConfig {
  /** Where it was read from (relative token files are relative to its folder). */
  path: string;
  currentContext?: string;
  contexts: CliContext[];
}

/** The config file's path: TRELLISCONFIG, else $XDG_CONFIG_HOME/trellis/config.yaml (~/.config/… by default). */
export function defaultConfigPath(env: Record<string, string | undefined>): string {
  if (env['TRELLISCONFIG']) return env['TRELLISCONFIG'];
  const base = env['XDG_CONFIG_HOME'] || path.join(env['HOME'] || os.homedir(), '.config');
  return path.join(base, 'trellis', 'config.yaml');
}

function fieldError(file: string, field: string, problem: string): CliError {
  return new CliError(`${file}: ${field}: ${problem}`);
}

function optionalString(value: unknown, file: string, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '') throw fieldError(file, field, 'expected a non-empty string');
  return value;
}

/** Parses a config file's text; every problem names the field. */
export function parseCliConfig(text: string, file: string): CliConfig {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new CliError(`${file}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
  const root: unknown = doc.toJS();
  if (root === null || root === undefined) return { path: file, contexts: [] };
  if (typeof root !== 'object' || Array.isArray(root)) throw new CliError(`${file}: expected a mapping`);
  const o = root as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== 'current-context' && key !== 'contexts')
      throw fieldError(file, key, 'unknown field (expected current-context, contexts)');
  }
  const list = o['contexts'] ?? [];
  if (!Array.isArray(list)) throw fieldError(file, 'contexts', 'expected a list');
  const contexts = list.map((c: unknown, i): CliContext => {
    const at = `contexts[${i}]`;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw fieldError(file, at, 'expected a mapping');
    const e = c as Record<string, unknown>;
    for (const key of Object.keys(e)) {
      if (!['name', 'api', 'token', 'tokenFile'].includes(key))
        throw fieldError(file, `${at}.${key}`, 'unknown field (expected name, api, token, tokenFile)');
    }
    const name = optionalString(e['name'], file, `${at}.name`);
    if (name === undefined) throw fieldError(file, `${at}.name`, 'required');
    const out: CliContext = { name };
    const api = optionalString(e['api'], file, `${at}.api`);
    const token = optionalString(e['token'], file, `${at}.token`);
    const tokenFile = optionalString(e['tokenFile'], file, `${at}.tokenFile`);
    if (token !== undefined && tokenFile !== undefined) throw fieldError(file, at, 'give token or tokenFile, not both');
    if (api !== undefined) out.api = api;
    if (token !== undefined) out.token = token;
    if (tokenFile !== undefined) out.tokenFile = tokenFile;
    return out;
  });
  const seen = new Set<string>();
  for (const [i, c] of contexts.entries()) {
    if (seen.has(c.name)) throw fieldError(file, `contexts[${i}].name`, `"${c.name}" is defined twice`);
    seen.add(c.name);
  }
  const current = optionalString(o['current-context'], file, 'current-context');
  if (current !== undefined && !seen.has(current))
    throw fieldError(file, 'current-context', `no context named "${current}"`);
  return { path: file, contexts, ...(current === undefined ? {} : { currentContext: current }) };
}

/** Reads the config file; undefined when it does not exist and was not asked for explicitly. */
export function loadCliConfig(file: string, explicit: boolean): CliConfig | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return undefined;
    throw new CliError(`cannot read the config file ${file}: ${(err as Error).message}`);
  }
  return parseCliConfig(text, file);
}

/** The context to use: the one named (--context), else the current one, else none. */
export function selectContext(config: CliConfig | undefined, name: string | undefined): CliContext | undefined {
  if (name === undefined) {
    if (config?.currentContext === undefined) return undefined;
    return config.contexts.find((c) => c.name === config.currentContext);
  }
  const found = config?.contexts.find((c) => c.name === name);
  if (found === undefined) {
    const known = config?.contexts.map((c) => c.name).join(', ') || 'none';
    throw new CliError(`no context named "${name}" in ${config?.path ?? 'the config file'} (contexts: ${known})`);
  }
  return found;
}

/**
 * The token a context gives: inline, or read from its tokenFile (relative to the config file). A config file or
 * token file that others may read is reported through `warn` (as ssh does for keys).
 */
export function contextToken(config: CliConfig, context: CliContext, warn: (m: string) => void): string | undefined {
  if (context.token !== undefined) {
    if (readableByOthers(config.path)) warn(`${config.path} holds a token and is readable by other users (chmod 600)`);
    return context.token;
  }
  if (context.tokenFile === undefined) return undefined;
  const file = path.resolve(path.dirname(config.path), context.tokenFile);
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new CliError(`context "${context.name}": cannot read tokenFile ${file}: ${(err as Error).message}`);
  }
  if (token === '') throw new CliError(`context "${context.name}": tokenFile ${file} is empty`);
  if (readableByOthers(file)) warn(`${file} holds a token and is readable by other users (chmod 600)`);
  return token;
}

function readableByOthers(file: string): boolean {
  try {
    return (statSync(file).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

/** Sets current-context in the file, keeping everything else (comments included) as written. */
export function useContext(config: CliConfig, name: string): void {
  if (!config.contexts.some((c) => c.name === name)) {
    const known = config.contexts.map((c) => c.name).join(', ') || 'none';
    throw new CliError(`no context named "${name}" in ${config.path} (contexts: ${known})`);
  }
  const doc = parseDocument(readFileSync(config.path, 'utf8'));
  if (!isMap(doc.contents) || !isSeq(doc.get('contexts'))) throw new CliError(`${config.path}: expected contexts`);
  doc.set('current-context', name);
  writeFileSync(config.path, String(doc));
}
