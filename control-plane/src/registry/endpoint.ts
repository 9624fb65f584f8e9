// An endpoint of a service, from a static Service entry or announced by a connected proxy.

export interface Endpoint {
  service: string;
  address: string;
  port: number;
  labels: Record<string, string>;
  weight: number;
  zone: string;
  /** 'static' for Service spec entries; the proxy's node id for announced ones. */
  source: string;
  /** The endpoint's proxy holds a mesh certificate and accepts mTLS (announced with TRELLIS_MTLS). */
  tls?: boolean;
  /** The SPIFFE id the announcing proxy's stream proved (not published; it scopes the node id to its owner). */
  identity?: string;
}
