# The Trellis control plane (trellis-control-plane, with trellisctl beside it). Build from the repo root:
#   docker build -f docker/control-plane.Dockerfile -t trellis/control-plane .
FROM node:26-slim
WORKDIR /app
# Dependencies first (cached while only sources change). --omit=dev is safe: the Envoy protos the control plane
# loads at run time come from @grpc/grpc-js-xds, a dependency of the packages/xds-protos workspace, so it stays.
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
COPY proto proto
COPY control-plane/bin control-plane/bin
COPY control-plane/src control-plane/src
RUN mkdir /data && chown node:node /data
USER node
ENV TRELLIS_DATA_DIR=/data TRELLIS_XDS_HOST=0.0.0.0 TRELLIS_API_HOST=0.0.0.0
VOLUME /data
# xDS, operator API
EXPOSE 18000 18001
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const s=require('node:net').connect(Number(process.env.TRELLIS_API_PORT||18001),'127.0.0.1');s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1))"]
ENTRYPOINT ["node", "control-plane/bin/trellis-control-plane.js"]
