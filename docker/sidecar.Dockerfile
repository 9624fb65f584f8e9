# The Trellis sidecar (trellis-sidecar). Run it in its app's network namespace (compose: network_mode "service:<app>").
#   docker build -f docker/sidecar.Dockerfile -t trellis/sidecar .
FROM node:26-slim
WORKDIR /app
# --omit=dev keeps @grpc/grpc-js-xds (the Envoy protos decoded at run time): packages/xds-protos depends on it.
COPY package.json package-lock.json ./
COPY packages/xds-protos/package.json packages/xds-protos/
COPY packages/re2/package.json packages/re2/
COPY packages/filter-api/package.json packages/filter-api/
COPY packages/node-contract/package.json packages/node-contract/
COPY packages/identity/package.json packages/identity/
COPY control-plane/package.json control-plane/
COPY sidecar/package.json sidecar/
COPY demo/package.json demo/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY packages/xds-protos/src packages/xds-protos/src
COPY packages/re2/src packages/re2/src
COPY packages/filter-api/src packages/filter-api/src
COPY packages/node-contract/src packages/node-contract/src
COPY packages/identity/src packages/identity/src
COPY sidecar/bin sidecar/bin
COPY sidecar/src sidecar/src
USER node
# outbound (app's HTTP proxy, loopback), inbound (peers), admin (loopback)
EXPOSE 15006
HEALTHCHECK --interval=5s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.TRELLIS_ADMIN_PORT||15000)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "sidecar/bin/trellis-sidecar.js"]
