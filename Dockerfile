# One image for the four apps; APP picks which one runs (issuance, revocation, anomaly, ledger).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund && npx turbo run build --output-logs=errors-only && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
COPY --from=build /src /app
USER node
ARG APP=issuance
ENV APP=${APP}
CMD ["sh", "-c", "exec node apps/${APP}/dist/main.js"]
