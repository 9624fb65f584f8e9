// The xDS node contract between Trellis proxies and the control plane.

export * from './explain.ts';
export * from './node.ts';
