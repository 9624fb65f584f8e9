// RE2 regular expressions from configuration, shared by the control plane (apply-time check) and the sidecar.

export { compileRe2, mustCompileRe2, Re2 } from './re2.ts';
export { compileRe2Rewrite, type Re2Rewrite } from './rewrite.ts';
