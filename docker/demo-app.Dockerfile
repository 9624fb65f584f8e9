# The demo apps (web, orders, payments, inventory, loadgen): one image, the command names the app.
#   docker build -f docker/demo-app.Dockerfile -t trellis/demo-app .
#   docker run trellis/demo-app demo/src/apps/web.ts
FROM node:26-slim
WORKDIR /app
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
# The edge-certs job makes the gateway's certificates with @trellis/identity's X.509 library.
COPY packages/identity/src packages/identity/src
COPY demo/proto demo/proto
COPY demo/src demo/src
# The apps are TypeScript run as is (type stripping); the trellis-source condition resolves @trellis/* to src/.
ENV NODE_OPTIONS=--conditions=trellis-source
USER node
# Apps listen on 127.0.0.1:$PORT: only the sidecar in the same network namespace reaches them.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "if(!process.env.PORT)process.exit(0);const s=require('node:net').connect(Number(process.env.PORT),'127.0.0.1');s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1))"]
ENTRYPOINT ["node"]
CMD ["demo/src/apps/web.ts"]
