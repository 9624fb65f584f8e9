// The xDS node contract between Trellis proxies and the control plane.
export * from './node.ts';
