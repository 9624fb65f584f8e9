// node:http, loaded with require: an ES import of it makes Node build its ESM facade, which reads every export,
// among them the lazy WebSocket, CloseEvent and MessageEvent getters that load Node's bundled undici and web streams
// (about 9 MB resident) into a process that never uses them (issue 16).
import type * as NodeHttp from 'node:http';
import { createRequire } from 'node:module';

export const http: typeof NodeHttp = createRequire(import.meta.url)('node:http');
