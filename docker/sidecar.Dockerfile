# The Trellis sidecar (trellis-sidecar). Run it in its app's network namespace (compose: network_mode "service:<app>").
#   docker build -f docker/sidecar.Dockerfile -t trellis/sidecar .
# Stage 1 compiles the TypeScript (tsc -b, a devDependency, run with the image's Node 26); the image keeps the
# compiled dist/ and the production dependencies only, so the process never loads Node's type stripper.
FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages/xds-protos/package.json packages/xds-protos/
COPY packages/re2/package.json packages/re2/
COPY packages/filter-api/package.json packages/filter-api/
COPY packages/node-contract/package.json packages/node-contract/
COPY packages/identity/package.json packages/identity/
COPY control-plane/package.json control-plane/
COPY sidecar/package.json sidecar/
COPY demo/package.json demo/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY packages packages
COPY sidecar sidecar
RUN node node_modules/typescript/bin/tsc -b sidecar

FROM node:26-slim
WORKDIR /app
# --omit=dev keeps what the compiled code imports; --ignore-scripts: nothing is built here.
COPY package.json package-lock.json ./
COPY packages/xds-protos/package.json packages/xds-protos/
COPY packages/re2/package.json packages/re2/
COPY packages/filter-api/package.json packages/filter-api/
COPY packages/node-contract/package.json packages/node-contract/
COPY packages/identity/package.json packages/identity/
COPY control-plane/package.json control-plane/
COPY sidecar/package.json sidecar/
COPY demo/package.json demo/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/packages/xds-protos/dist packages/xds-protos/dist
COPY --from=build /app/packages/re2/dist packages/re2/dist
COPY --from=build /app/packages/filter-api/dist packages/filter-api/dist
COPY --from=build /app/packages/node-contract/dist packages/node-contract/dist
COPY --from=build /app/packages/identity/dist packages/identity/dist
# The Envoy proto descriptor the compiled xds-protos reads (from its src/, beside dist/).
COPY packages/xds-protos/src/envoy-descriptor.json packages/xds-protos/src/
COPY --from=build /app/sidecar/dist sidecar/dist
COPY sidecar/bin sidecar/bin
USER node
# outbound (app's HTTP proxy, loopback), inbound (peers), admin (loopback)
EXPOSE 15006
HEALTHCHECK --interval=5s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.TRELLIS_ADMIN_PORT||15000)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "sidecar/bin/trellis-sidecar.js"]
