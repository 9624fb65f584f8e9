# The Trellis control plane (trellis-control-plane, with trellisctl beside it). Build from the repo root:
#   docker build -f docker/control-plane.Dockerfile -t trellis/control-plane .
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
COPY control-plane control-plane
RUN node node_modules/typescript/bin/tsc -b control-plane

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
COPY --from=build /app/control-plane/dist control-plane/dist
COPY proto proto
COPY control-plane/bin control-plane/bin
RUN mkdir /data && chown node:node /data
USER node
ENV TRELLIS_DATA_DIR=/data TRELLIS_XDS_HOST=0.0.0.0 TRELLIS_API_HOST=0.0.0.0
VOLUME /data
# xDS, operator API
EXPOSE 18000 18001
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const s=require('node:net').connect(Number(process.env.TRELLIS_API_PORT||18001),'127.0.0.1');s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1))"]
ENTRYPOINT ["node", "control-plane/bin/trellis-control-plane.js"]
