// Where the demo finds the project's real bins, its apps and its config files.
import { fileURLToPath } from 'node:url';

const at = (relative: string): string => fileURLToPath(new URL(`../../${relative}`, import.meta.url));

export const REPO_ROOT = at('');
export const BINS = {
  controlPlane: at('control-plane/bin/trellis-control-plane.js'),
  trellisctl: at('control-plane/bin/trellisctl.js'),
  sidecar: at('sidecar/bin/trellis-sidecar.js'),
};
export const appScript = (file: string): string => at(`demo/src/apps/${file}`);
export const MESH_CONFIG = at('demo/config/mesh.yaml');
