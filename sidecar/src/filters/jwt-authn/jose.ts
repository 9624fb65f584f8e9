// jose, imported on first use: only a sidecar whose config holds a jwt_authn filter loads it (about 180 modules and
// several MB resident; issue 16). The filter starts the import when it is configured, before its first request.
type Jose = typeof import('jose');

let loading: Promise<Jose> | undefined;

export function loadJose(): Promise<Jose> {
  loading ??= import('jose');
  return loading;
}
